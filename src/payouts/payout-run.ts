import { sql } from 'kysely';
import { type AuditContext, writeAudit } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { PayoutBatchRow, PayoutRow } from './payout.table.ts';

/*
 * A payout run: one batch over the approved lines nobody has claimed yet, in one currency (and
 * optionally one program). Each partner's lines of a program are netted (clawbacks included, so a
 * negative balance is carried into the next payout), and the partner is paid only when the net is
 * positive and at least its minimum (inclusive; the partner's override, else the program's). A
 * partner below it keeps its lines for a later run.
 *
 * Claiming: runs of one tenant and currency take a transaction-scoped advisory lock first, so they
 * run one after the other and each sees what the previous one claimed. Without it, two runs
 * skipping each other's locked rows could each take part of one partner's lines and pay the
 * positive part while the clawback sits in the other run. Then every line is claimed with a
 * conditional UPDATE (still approved, still unclaimed): should anything claim a line outside this
 * path, the counts differ and the run fails instead of paying a line twice.
 *
 * No money moves at claim time: the lines stay approved (in payable) until their payout is paid.
 */

export interface PayoutRunInput {
  tenantId: string;
  currency: string;
  programId?: string | null;
  now: Date;
  createdBy: string;
  audit: AuditContext;
}

export interface PayoutRunResult {
  /** Null when no partner reached its minimum: no batch is created. */
  batch: PayoutBatchRow | null;
  payouts: PayoutRow[];
  /** Partners whose net was below their minimum (or not positive), with what they would have had. */
  belowMinimum: { partnerId: string; programId: string; amount: bigint; minimumPayout: bigint }[];
}

interface Group {
  partnerId: string;
  programId: string;
  amount: bigint;
  lineIds: string[];
  minimumPayout: bigint;
}

/** Ids per statement when claiming, well under the protocol's limit of bind parameters. */
const CLAIM_CHUNK = 5_000;

export async function runPayouts(tx: Tx, input: PayoutRunInput): Promise<PayoutRunResult> {
  const { tenantId, currency, now } = input;
  if (!/^[A-Z]{3}$/.test(currency))
    throw new AppError('validation_failed', 'currency must be an ISO 4217 code', {
      fields: [{ field: 'currency', message: 'must be an ISO 4217 code' }],
    });
  await sql`select pg_advisory_xact_lock(hashtextextended(${`payouts:${tenantId}:${currency}`}, 0))`.execute(
    tx,
  );
  // Locked in id order (the order reverseLines and approveLines lock in): a clawback committed
  // after this read lands as a new unclaimed line, netted by the next run.
  let query = tx
    .selectFrom('commission_lines')
    .select(['id', 'partner_id', 'program_id', 'amount'])
    .where('tenant_id', '=', tenantId)
    .where('currency', '=', currency)
    .where('status', '=', 'approved')
    .where('payout_id', 'is', null);
  if (input.programId) query = query.where('program_id', '=', input.programId);
  const lines = await query.orderBy('id').forUpdate().execute();

  const minimums = await minimumsOf(tx, tenantId, [...new Set(lines.map((l) => l.program_id))]);
  const groups = new Map<string, Group>();
  for (const line of lines) {
    const key = `${line.partner_id}:${line.program_id}`;
    const group = groups.get(key) ?? {
      partnerId: line.partner_id,
      programId: line.program_id,
      amount: 0n,
      lineIds: [],
      minimumPayout: minimums.overrides.get(key) ?? minimums.programs.get(line.program_id) ?? 0n,
    };
    group.amount += line.amount;
    group.lineIds.push(line.id);
    groups.set(key, group);
  }
  const due: Group[] = [];
  const belowMinimum: PayoutRunResult['belowMinimum'] = [];
  const ordered = [...groups.values()].sort((a, b) =>
    a.partnerId === b.partnerId ? (a.programId < b.programId ? -1 : 1) : a.partnerId < b.partnerId ? -1 : 1,
  );
  for (const group of ordered) {
    if (group.amount > 0n && group.amount >= group.minimumPayout) due.push(group);
    else
      belowMinimum.push({
        partnerId: group.partnerId,
        programId: group.programId,
        amount: group.amount,
        minimumPayout: group.minimumPayout,
      });
  }
  if (due.length === 0) return { batch: null, payouts: [], belowMinimum };

  const batch = await tx
    .insertInto('payout_batches')
    .values({
      tenant_id: tenantId,
      program_id: input.programId ?? null,
      currency,
      status: 'draft',
      created_by: input.createdBy,
      approved_by: null,
      approved_at: null,
      exported_at: null,
      settled_at: null,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();

  const payouts: PayoutRow[] = [];
  for (const group of due) {
    const payout = await tx
      .insertInto('payouts')
      .values({
        tenant_id: tenantId,
        batch_id: batch.id,
        partner_id: group.partnerId,
        program_id: group.programId,
        currency,
        amount: group.amount,
        line_count: group.lineIds.length,
        minimum_payout: group.minimumPayout,
        status: 'pending',
        reference: null,
        failure_reason: null,
        ledger_transaction_id: null,
        settled_at: null,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    let sum = 0n;
    let count = 0;
    for (let i = 0; i < group.lineIds.length; i += CLAIM_CHUNK) {
      const claimed = await tx
        .updateTable('commission_lines')
        .set({ payout_id: payout.id })
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', group.lineIds.slice(i, i + CLAIM_CHUNK))
        .where('status', '=', 'approved')
        .where('payout_id', 'is', null)
        .returning('amount')
        .execute();
      sum += claimed.reduce((total, line) => total + line.amount, 0n);
      count += claimed.length;
    }
    // The locks make this impossible; if it ever happens, pay nothing rather than the wrong sum.
    if (sum !== group.amount || count !== group.lineIds.length)
      throw new AppError(
        'conflict',
        'Commission lines changed while the payout run claimed them; run it again',
        {
          partnerId: group.partnerId,
          expected: group.amount.toString(),
          claimed: sum.toString(),
        },
      );
    payouts.push(payout);
  }

  await writeAudit(tx, input.audit, {
    action: 'payout_batch.created',
    subjectType: 'payout_batch',
    subjectId: batch.id,
    after: {
      currency,
      programId: batch.program_id,
      payouts: payouts.map((p) => ({ id: p.id, partnerId: p.partner_id, amount: p.amount })),
    },
  });
  return { batch, payouts, belowMinimum };
}

/** Programs' minimum payouts, and partners' overrides keyed `partnerId:programId`. */
async function minimumsOf(tx: Tx, tenantId: string, programIds: string[]) {
  const programs = new Map<string, bigint>();
  const overrides = new Map<string, bigint>();
  if (programIds.length === 0) return { programs, overrides };
  for (const row of await tx
    .selectFrom('programs')
    .select(['id', 'minimum_payout'])
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', programIds)
    .execute())
    programs.set(row.id, row.minimum_payout);
  for (const row of await tx
    .selectFrom('payout_minimum_overrides')
    .select(['partner_id', 'program_id', 'minimum_payout'])
    .where('tenant_id', '=', tenantId)
    .where('program_id', 'in', programIds)
    .execute())
    overrides.set(`${row.partner_id}:${row.program_id}`, row.minimum_payout);
  return { programs, overrides };
}
