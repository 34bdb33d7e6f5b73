import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveLines } from '../../src/commissions/approve-lines.ts';
import { type AccrualLine, accrueLines, reverseLines } from '../../src/commissions/commission-lines.ts';
import type { Db } from '../../src/db/database.ts';
import { accountBalance } from '../../src/ledger/account.repository.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { type LedgerFixture, makeLedgerFixture } from '../factories/ledger.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const at = new Date('2026-03-01T10:00:00.000Z');

describe(`commission lines: accrual and exact reversal (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;
  let f: LedgerFixture;
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
    f = await makeLedgerFixture(db);
  });
  afterAll(async () => {
    await database.destroy();
  });

  const balanceOf = (kind: 'partner_pending' | 'partner_payable', partnerId: string) =>
    accountBalance(db, f.tenant.id, {
      kind,
      partnerId,
      programId: f.program.id,
      currency: f.program.currency,
    });

  /** A revenue share of 1,000.01 to the delivery partner and a 10% override (100.00) to its parent. */
  function dealLines(deal: number): AccrualLine[] {
    const [lead, delivery] = f.partners.map((p) => p.id) as [string, string];
    const base = `deal:${deal}:v1:rule:r1`;
    return [
      {
        programId: f.program.id,
        partnerId: delivery,
        kind: 'commission',
        causeKey: `${base}:partner:${delivery}`,
        amount: 100_001n,
        currency: f.program.currency,
        rate: '0.1',
        explanation: { rule: 'revenue share' },
      },
      {
        programId: f.program.id,
        partnerId: lead,
        kind: 'override',
        causeKey: `${base}:partner:${lead}:override:1`,
        sourceCauseKey: `${base}:partner:${delivery}`,
        overrideDepth: 1,
        amount: 10_000n,
        currency: f.program.currency,
        rate: '0.1',
        explanation: { rule: 'override' },
      },
    ];
  }

  function accrue(deal: number) {
    return db.transaction().execute((tx) =>
      accrueLines(tx, {
        tenantId: f.tenant.id,
        transactionKey: `deal:${deal}:v1:accrue`,
        cause: { deal },
        occurredAt: at,
        holdDays: 30,
        lines: dealLines(deal),
      }),
    );
  }

  it('writes one pending line per leg, links the override to its source, and a replay writes nothing', async () => {
    const deal = ++seq;
    const first = await accrue(deal);
    expect(first.applied).toBe(true);
    expect(first.lines.map((l) => [l.kind, l.amount, l.status])).toEqual([
      ['commission', 100_001n, 'pending'],
      ['override', 10_000n, 'pending'],
    ]);
    expect(first.lines[1]!.source_line_id).toBe(first.lines[0]!.id);
    expect(first.lines[0]!.hold_until.toISOString()).toBe('2026-03-31T10:00:00.000Z');
    const again = await accrue(deal);
    expect(again.applied).toBe(false);
    expect(again.lines.map((l) => l.id).sort()).toEqual(first.lines.map((l) => l.id).sort());
  });

  it('cancels a pending line within pending, and takes an approved one back from payable', async () => {
    const [, delivery] = f.partners.map((p) => p.id) as [string, string];
    const pendingBefore = await balanceOf('partner_pending', delivery);
    const payableBefore = await balanceOf('partner_payable', delivery);
    const { lines } = await accrue(++seq);
    const [commission, override] = lines as [(typeof lines)[0], (typeof lines)[0]];
    // Approved through the lifecycle, so its money is in payable (ledger verify holds lines and
    // accounts together: a status changed by hand would be a violation).
    await db.transaction().execute((tx) =>
      approveLines(tx, {
        tenantId: f.tenant.id,
        selection: { lineIds: [commission.id] },
        now: new Date(at.getTime() + 31 * 86_400_000),
        approvedBy: 'test',
        audit: { tenantId: f.tenant.id, actorType: 'system', actorId: null, source: 'test' },
      }),
    );

    const result = await db.transaction().execute((tx) =>
      reverseLines(tx, {
        tenantId: f.tenant.id,
        lineIds: [commission.id, override.id],
        transactionKey: `deal:${seq}:v2:reverse`,
        reason: 'deal lost',
        occurredAt: at,
      }),
    );
    const byOriginal = new Map(result.lines.map((l) => [l.reverses_line_id, l]));
    expect(byOriginal.get(commission.id)).toMatchObject({
      amount: -100_001n,
      status: 'approved',
      kind: 'clawback',
    });
    expect(byOriginal.get(override.id)).toMatchObject({ amount: -10_000n, status: 'cancelled' });
    // The commission accrued into pending (+100,001), was approved into payable, and was taken
    // back from payable (−100,001); the override was cancelled within pending.
    expect(await balanceOf('partner_pending', delivery)).toBe(pendingBefore);
    expect(await balanceOf('partner_payable', delivery)).toBe(payableBefore);
    const overrideNow = await db
      .selectFrom('commission_lines')
      .select('status')
      .where('id', '=', override.id)
      .executeTakeFirstOrThrow();
    expect(overrideNow.status).toBe('cancelled');

    const again = await db.transaction().execute((tx) =>
      reverseLines(tx, {
        tenantId: f.tenant.id,
        lineIds: [commission.id, override.id],
        transactionKey: `deal:${seq}:v3:reverse`,
        reason: 'deal lost again',
        occurredAt: at,
      }),
    );
    expect(again).toEqual({ applied: false, lines: [] });
    const report = await verifyLedger(db, { tenantId: f.tenant.id });
    expect(report.ok).toBe(true);
  });
});
