import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AuditContext } from '../../src/audit/audit.repository.ts';
import { approveLines } from '../../src/commissions/approve-lines.ts';
import type { CommissionLineRow } from '../../src/commissions/commission-line.table.ts';
import { accrueLines, reverseLines } from '../../src/commissions/commission-lines.ts';
import type { Db } from '../../src/db/database.ts';
import { accountBalance } from '../../src/ledger/account.repository.ts';
import { formatVerifyReport, verifyLedger } from '../../src/ledger/ledger-verify.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';

/** A tenant, one program (hold and minimum as asked) and some partners, for the money lifecycle. */
export interface LifecycleFixture {
  t: TenantWithKeys;
  tenantId: string;
  program: ProgramRow;
  partners: PartnerRow[];
}

export const DAY = 86_400_000;

export async function lifecycleFixture(
  db: Db,
  options: { holdDays?: number; minimumPayout?: bigint; currency?: string; partners?: number } = {},
): Promise<LifecycleFixture> {
  const t = await makeTenant(db);
  let program = await makeProgram(db, t.tenant.id, {
    holdDays: options.holdDays ?? 30,
    currency: options.currency ?? 'USD',
  });
  if (options.minimumPayout !== undefined) {
    program = await db
      .updateTable('programs')
      .set({ minimum_payout: options.minimumPayout })
      .where('id', '=', program.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  const partners: PartnerRow[] = [];
  for (let i = 0; i < (options.partners ?? 2); i++) partners.push(await makePartner(db, t.tenant.id));
  return { t, tenantId: t.tenant.id, program, partners };
}

export const systemAudit = (tenantId: string): AuditContext => ({
  tenantId,
  actorType: 'system',
  actorId: null,
  source: 'test',
});

/** Accrues one commission line into the partner's pending account, as the engine would. */
export async function accrue(
  db: Db,
  f: LifecycleFixture,
  input: { partnerId: string; amount: bigint; at: Date; holdDays?: number; extra?: Record<string, unknown> },
): Promise<CommissionLineRow> {
  const cause = `test:${randomBytes(6).toString('hex')}`;
  const result = await db.transaction().execute((tx) =>
    accrueLines(tx, {
      tenantId: f.tenantId,
      transactionKey: `${cause}:accrue`,
      cause: { test: cause },
      occurredAt: input.at,
      holdDays: input.holdDays ?? f.program.hold_days,
      lines: [
        {
          programId: f.program.id,
          partnerId: input.partnerId,
          kind: 'commission',
          causeKey: `${cause}:partner:${input.partnerId}`,
          amount: input.amount,
          currency: f.program.currency,
          explanation: { test: true },
          ...(input.extra ?? {}),
        },
      ],
    }),
  );
  return result.lines[0]!;
}

export async function reverse(db: Db, f: LifecycleFixture, lineIds: string[], at: Date) {
  return db.transaction().execute((tx) =>
    reverseLines(tx, {
      tenantId: f.tenantId,
      lineIds,
      transactionKey: `test:reverse:${randomBytes(6).toString('hex')}`,
      reason: 'deal lost',
      occurredAt: at,
    }),
  );
}

export async function approve(
  db: Db,
  f: LifecycleFixture,
  now: Date,
  selection: Parameters<typeof approveLines>[1]['selection'] = { programId: f.program.id },
) {
  return db.transaction().execute((tx) =>
    approveLines(tx, {
      tenantId: f.tenantId,
      selection,
      now,
      approvedBy: 'user:approver',
      audit: systemAudit(f.tenantId),
    }),
  );
}

export async function balances(db: Db, f: LifecycleFixture, partnerId: string) {
  const of = (kind: 'partner_pending' | 'partner_payable' | 'partner_paid') =>
    accountBalance(db, f.tenantId, {
      kind,
      partnerId,
      programId: f.program.id,
      currency: f.program.currency,
    });
  return {
    pending: await of('partner_pending'),
    payable: await of('partner_payable'),
    paid: await of('partner_paid'),
  };
}

export async function lineOf(db: Db, id: string): Promise<CommissionLineRow> {
  return db.selectFrom('commission_lines').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** `ledger verify` for the tenant finds nothing wrong (the report is the failure message). */
export async function expectLedgerOk(db: Db, tenantId: string): Promise<void> {
  const report = await verifyLedger(db, { tenantId });
  expect(report.ok, formatVerifyReport(report)).toBe(true);
}

/** Domain events of a type written to the outbox (payloads of the events.deliver job). */
export async function eventsOf(db: Db, type: string) {
  const rows = await db
    .selectFrom('outbox')
    .select('payload')
    .where('job_name', '=', 'events.deliver')
    .execute();
  return rows
    .map((r) => r.payload as { type: string; tenantId: string; subjectId: string; data: Record<string, any> })
    .filter((e) => e.type === type);
}
