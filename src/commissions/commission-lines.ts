import { randomUUID } from 'node:crypto';
import type { Tx } from '../db/database.ts';
import { type PostLine, type PostTransactionInput, postTransaction } from '../ledger/post-transaction.ts';
import type { CommissionLineKind, CommissionLineRow, NewCommissionLineRow } from './commission-line.table.ts';

/*
 * The one way money reaches a partner's ledger accounts from a rule, and the one way it is taken
 * back. The commission engine, the scheduled accruals (retainers, recurring shares) and the tier
 * adjustments all accrue through accrueLines; every clawback goes through reverseLines. Each call is
 * one balanced ledger transaction whose partner entries are exactly the lines written with it, so a
 * statement line always has its ledger entry and `ledger verify` can hold the two together.
 *
 * Partner accounts are kept per program (partner_pending/payable/paid with the program id), because
 * the minimum payout is per program and currency.
 */

const DAY_MS = 86_400_000;

export interface AccrualLine {
  programId: string;
  partnerId: string;
  dealId?: string | null;
  dealEventId?: string | null;
  ruleId?: string | null;
  ruleVersion?: number | null;
  kind: Exclude<CommissionLineKind, 'clawback'>;
  /** Deterministic from the cause: `deal:<id>:v<version>:rule:<id>:partner:<id>[:override:<depth>]`. */
  causeKey: string;
  overrideDepth?: number | null;
  /** For an override: the cause key of the sub-partner's line (in this call or posted before). */
  sourceCauseKey?: string | null;
  /** Signed minor units of `currency`; a zero line is not posted. */
  amount: bigint;
  currency: string;
  basisAmount?: bigint | null;
  basisCurrency?: string | null;
  rate?: string | null;
  fxRate?: string | null;
  periodKey?: string | null;
  explanation: Record<string, unknown>;
}

export interface AccrueInput {
  tenantId: string;
  /** The ledger transaction's idempotency key, e.g. `deal:<id>:v<version>:accrue`. */
  transactionKey: string;
  /** Deterministic description of the cause (part of the ledger content hash). */
  cause: Record<string, unknown>;
  /** The cause's domain time; the hold period runs from it. */
  occurredAt: Date;
  holdDays: number;
  lines: AccrualLine[];
  recordedAt?: Date;
}

export interface LinesResult {
  /** false when the transaction was already posted (a replay): nothing was written. */
  applied: boolean;
  lines: CommissionLineRow[];
}

/** Posts the lines into their partners' pending accounts, paid by their programs' expense accounts. */
export async function accrueLines(tx: Tx, input: AccrueInput): Promise<LinesResult> {
  const lines = input.lines.filter((line) => line.amount !== 0n);
  if (lines.length === 0) return { applied: false, lines: [] };
  const posted = await postTransaction(tx, accrualTransaction(input, lines));
  if (!posted.applied) {
    return {
      applied: false,
      lines: await linesByCause(
        tx,
        input.tenantId,
        lines.map((l) => l.causeKey),
      ),
    };
  }
  const rows = accrualRows(
    input,
    lines,
    posted.transaction.id,
    await resolveSources(tx, input.tenantId, lines),
  );
  const inserted = await tx.insertInto('commission_lines').values(rows).returningAll().execute();
  return { applied: true, lines: inOrderOf(rows, inserted) };
}

/** The ledger transaction of an accrual: the partner lines and their balancing expense lines. */
export function accrualTransaction(input: AccrueInput, lines: AccrualLine[]): PostTransactionInput {
  return {
    tenantId: input.tenantId,
    idempotencyKey: input.transactionKey,
    kind: 'accrual',
    cause: { ...input.cause, lines: lines.map((l) => [l.causeKey, l.amount.toString()]) },
    occurredAt: input.occurredAt,
    lines: withProgramExpense(
      lines.map((line) => ({
        account: {
          kind: 'partner_pending' as const,
          partnerId: line.partnerId,
          programId: line.programId,
          currency: line.currency,
        },
        amount: line.amount,
      })),
      lines.map((l) => l.programId),
    ),
    ...(input.recordedAt ? { recordedAt: input.recordedAt } : {}),
  };
}

/**
 * The commission_lines rows of an accrual posted as `transactionId`. Ids are chosen here so an
 * override can name a line of the same call; a source outside it comes from `postedSources` (ids of
 * lines posted before, by cause key).
 */
export function accrualRows(
  input: AccrueInput,
  lines: AccrualLine[],
  transactionId: string,
  postedSources: ReadonlyMap<string, string>,
): NewCommissionLineRow[] {
  const holdUntil = new Date(input.occurredAt.getTime() + input.holdDays * DAY_MS);
  const ids = new Map(lines.map((line) => [line.causeKey, randomUUID()]));
  return lines.map((line) => ({
    id: ids.get(line.causeKey)!,
    tenant_id: input.tenantId,
    program_id: line.programId,
    partner_id: line.partnerId,
    deal_id: line.dealId ?? null,
    deal_event_id: line.dealEventId ?? null,
    rule_id: line.ruleId ?? null,
    rule_version: line.ruleVersion ?? null,
    kind: line.kind,
    cause_key: line.causeKey,
    override_depth: line.overrideDepth ?? null,
    source_line_id: line.sourceCauseKey
      ? (ids.get(line.sourceCauseKey) ?? postedSources.get(line.sourceCauseKey) ?? null)
      : null,
    reverses_line_id: null,
    amount: line.amount,
    currency: line.currency,
    basis_amount: line.basisAmount ?? null,
    basis_currency: line.basisCurrency ?? null,
    rate: line.rate ?? null,
    fx_rate: line.fxRate ?? null,
    period_key: line.periodKey ?? null,
    explanation: JSON.stringify(line.explanation),
    ledger_transaction_id: transactionId,
    status: 'pending',
    accrued_at: input.occurredAt,
    hold_until: holdUntil,
    approved_at: null,
    approved_by: null,
    payout_id: null,
    paid_at: null,
  }));
}

/** The inserted rows in the order they were given (RETURNING order is not promised). */
function inOrderOf(rows: NewCommissionLineRow[], inserted: CommissionLineRow[]): CommissionLineRow[] {
  const byId = new Map(inserted.map((row) => [row.id, row]));
  return rows.map((row) => byId.get(row.id as string)!);
}

export interface ReverseInput {
  tenantId: string;
  lineIds: string[];
  /** The ledger transaction's idempotency key, e.g. `deal:<id>:v<version>:reverse`. */
  transactionKey: string;
  reason: string;
  /** The cause's domain time (the event that made the deal lost, reopened, smaller). */
  occurredAt: Date;
  dealEventId?: string | null;
  /** Who or what reversed it, recorded as the clawback's approver when it lands on payable. */
  actor?: string;
  recordedAt?: Date;
}

/**
 * Negates stored lines exactly (their amounts, never a recomputation), each on the account its money
 * is in now: a pending or awaiting line is cancelled within pending (it and its clawback both end
 * `cancelled`); an approved or paid line is taken from payable, which may go negative and is netted
 * in the next payout (the clawback line is approved at once: clawbacks are never held).
 * Lines already reversed, and clawbacks themselves, are skipped; the lines are locked first (in id
 * order) so an approval or payout running at the same time sees the result, never half of it.
 */
export async function reverseLines(tx: Tx, input: ReverseInput): Promise<LinesResult> {
  if (input.lineIds.length === 0) return { applied: false, lines: [] };
  const originals = await tx
    .selectFrom('commission_lines')
    .selectAll()
    .where('tenant_id', '=', input.tenantId)
    .where('id', 'in', [...new Set(input.lineIds)].sort())
    .orderBy('id')
    .forUpdate()
    .execute();
  const reversed = new Set(
    (
      await tx
        .selectFrom('commission_lines')
        .select('reverses_line_id')
        .where('tenant_id', '=', input.tenantId)
        .where(
          'reverses_line_id',
          'in',
          originals.map((o) => o.id),
        )
        .execute()
    ).map((r) => r.reverses_line_id),
  );
  const targets = originals.filter((o) => o.kind !== 'clawback' && !reversed.has(o.id));
  if (targets.length === 0) return { applied: false, lines: [] };

  const ledgerLines = withProgramExpense(
    targets.map((line) => {
      const inPending = line.status === 'pending' || line.status === 'awaiting_approval';
      return {
        account: {
          kind: inPending ? ('partner_pending' as const) : ('partner_payable' as const),
          partnerId: line.partner_id,
          programId: line.program_id,
          currency: line.currency,
        },
        amount: -line.amount,
      };
    }),
    targets.map((t) => t.program_id),
  );

  const posted = await postTransaction(tx, {
    tenantId: input.tenantId,
    idempotencyKey: input.transactionKey,
    kind: 'clawback',
    cause: { reason: input.reason, reverses: targets.map((t) => t.cause_key) },
    occurredAt: input.occurredAt,
    lines: ledgerLines,
    ...(input.recordedAt ? { recordedAt: input.recordedAt } : {}),
  });
  if (!posted.applied) {
    return {
      applied: false,
      lines: await linesByCause(
        tx,
        input.tenantId,
        targets.map((t) => `reverse:${t.cause_key}`),
      ),
    };
  }

  const at = input.recordedAt ?? input.occurredAt;
  const written: CommissionLineRow[] = [];
  for (const line of targets) {
    const inPending = line.status === 'pending' || line.status === 'awaiting_approval';
    written.push(
      await tx
        .insertInto('commission_lines')
        .values({
          tenant_id: line.tenant_id,
          program_id: line.program_id,
          partner_id: line.partner_id,
          deal_id: line.deal_id,
          deal_event_id: input.dealEventId ?? null,
          rule_id: line.rule_id,
          rule_version: line.rule_version,
          kind: 'clawback',
          cause_key: `reverse:${line.cause_key}`,
          override_depth: line.override_depth,
          source_line_id: line.source_line_id,
          reverses_line_id: line.id,
          amount: -line.amount,
          currency: line.currency,
          basis_amount: line.basis_amount,
          basis_currency: line.basis_currency,
          rate: line.rate,
          fx_rate: line.fx_rate,
          period_key: line.period_key,
          explanation: JSON.stringify({
            reason: input.reason,
            reverses: line.cause_key,
            wasStatus: line.status,
          }),
          ledger_transaction_id: posted.transaction.id,
          status: inPending ? 'cancelled' : 'approved',
          accrued_at: input.occurredAt,
          hold_until: input.occurredAt,
          approved_at: inPending ? null : at,
          approved_by: inPending ? null : (input.actor ?? 'system:clawback'),
          payout_id: null,
          paid_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    if (inPending) {
      await tx
        .updateTable('commission_lines')
        .set({ status: 'cancelled' })
        .where('tenant_id', '=', line.tenant_id)
        .where('id', '=', line.id)
        .execute();
    }
  }
  return { applied: true, lines: written };
}

export async function linesByCause(
  tx: Tx,
  tenantId: string,
  causeKeys: string[],
): Promise<CommissionLineRow[]> {
  if (causeKeys.length === 0) return [];
  return tx
    .selectFrom('commission_lines')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('cause_key', 'in', causeKeys)
    .orderBy('recorded_at')
    .orderBy('id')
    .execute();
}

/** Ids of the source lines these lines name outside themselves (posted before), by cause key. */
export async function resolveSources(
  tx: Tx,
  tenantId: string,
  lines: AccrualLine[],
): Promise<Map<string, string>> {
  const own = new Set(lines.map((l) => l.causeKey));
  const keys = [
    ...new Set(lines.map((l) => l.sourceCauseKey).filter((k): k is string => Boolean(k) && !own.has(k!))),
  ];
  if (keys.length === 0) return new Map();
  const rows = await tx
    .selectFrom('commission_lines')
    .select(['id', 'cause_key'])
    .where('tenant_id', '=', tenantId)
    .where('cause_key', 'in', keys)
    .execute();
  return new Map(rows.map((r) => [r.cause_key, r.id]));
}

/**
 * The partner lines plus their balancing program-expense lines, summed per program and currency
 * (the i-th partner line belongs to programIds[i]): one expense entry per program, not per line.
 */
function withProgramExpense(partnerLines: PostLine[], programIds: string[]): PostLine[] {
  const expense = new Map<string, { programId: string; currency: string; amount: bigint }>();
  partnerLines.forEach((line, i) => {
    const programId = programIds[i]!;
    const key = `${programId}:${line.account.currency}`;
    const sum = expense.get(key) ?? { programId, currency: line.account.currency, amount: 0n };
    sum.amount -= line.amount;
    expense.set(key, sum);
  });
  const balancing: PostLine[] = [];
  for (const { programId, currency, amount } of expense.values()) {
    if (amount !== 0n) balancing.push({ account: { kind: 'program_expense', programId, currency }, amount });
  }
  return [...partnerLines, ...balancing];
}
