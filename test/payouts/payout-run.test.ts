import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { setMinimumOverride } from '../../src/payouts/payout.repository.ts';
import { applyOutcome, manualPayoutProvider } from '../../src/payouts/payout-provider.ts';
import { runPayouts } from '../../src/payouts/payout-run.ts';
import {
  approveBatch,
  markPayoutFailed,
  markPayoutPaid,
  type SettlementContext,
} from '../../src/payouts/payout-settlement.ts';
import {
  accrue,
  approve,
  balances,
  DAY,
  eventsOf,
  expectLedgerOk,
  type LifecycleFixture,
  lifecycleFixture,
  lineOf,
  reverse,
  systemAudit,
} from '../commissions/lifecycle-world.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const start = new Date('2026-03-01T10:00:00.000Z');
const at = (days: number) => new Date(start.getTime() + days * DAY);

describe(`payouts: runs, minimums, clawbacks, settlement (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    await database.destroy();
  });

  const ctx = (f: LifecycleFixture, now: Date): SettlementContext => ({
    tenantId: f.tenantId,
    now,
    actor: 'user:finance',
    audit: systemAudit(f.tenantId),
  });
  const run = (f: LifecycleFixture, now: Date) =>
    db.transaction().execute((tx) =>
      runPayouts(tx, {
        tenantId: f.tenantId,
        currency: f.program.currency,
        now,
        createdBy: 'user:finance',
        audit: systemAudit(f.tenantId),
      }),
    );
  const pay = async (f: LifecycleFixture, payoutId: string, now: Date, reference = 'WIRE-1') => {
    const batchId = (
      await db.selectFrom('payouts').select('batch_id').where('id', '=', payoutId).executeTakeFirstOrThrow()
    ).batch_id;
    const batch = await db
      .selectFrom('payout_batches')
      .select('status')
      .where('id', '=', batchId)
      .executeTakeFirstOrThrow();
    if (batch.status === 'draft')
      await db.transaction().execute((tx) => approveBatch(tx, ctx(f, now), batchId));
    return db.transaction().execute((tx) => markPayoutPaid(tx, ctx(f, now), payoutId, reference));
  };
  /** Accrues and approves one line of `amount` for the partner. */
  const payable = async (f: LifecycleFixture, partnerId: string, amount: bigint, day = 0) => {
    const line = await accrue(db, f, { partnerId, amount, at: at(day), holdDays: 0 });
    await approve(db, f, at(day), { lineIds: [line.id] });
    return line;
  };

  it('PartnerStack: $100 paid, $20 earned, then the $100 clawed back leaves payable at −$80; no payout until positive and at the minimum', async () => {
    const f = await lifecycleFixture(db, { minimumPayout: 1_000n });
    const partnerId = f.partners[0]!.id;
    const hundred = await payable(f, partnerId, 10_000n);
    const first = await run(f, at(1));
    expect(first.payouts.map((p) => [p.partner_id, p.amount])).toEqual([[partnerId, 10_000n]]);
    await pay(f, first.payouts[0]!.id, at(2));
    expect(await balances(db, f, partnerId)).toEqual({ pending: 0n, payable: 0n, paid: 10_000n });
    expect((await lineOf(db, hundred.id)).status).toBe('paid');

    await payable(f, partnerId, 2_000n, 3);
    await reverse(db, f, [hundred.id], at(4));
    // Paid money is never taken back from paid: the clawback lands on payable, which goes negative.
    expect(await balances(db, f, partnerId)).toEqual({ pending: 0n, payable: -8_000n, paid: 10_000n });

    const blocked = await run(f, at(5));
    expect(blocked.batch).toBeNull();
    expect(blocked.belowMinimum).toEqual([
      { partnerId, programId: f.program.id, amount: -8_000n, minimumPayout: 1_000n },
    ]);
    // Positive again but one cent under the minimum ($9.99 net): still nothing.
    await payable(f, partnerId, 8_999n, 6);
    expect((await run(f, at(6))).batch).toBeNull();
    // One more cent reaches the $10.00 minimum exactly: paid, netting every line (the clawback too).
    await payable(f, partnerId, 1n, 6);
    const second = await run(f, at(7));
    expect(second.payouts.map((p) => [p.amount, p.line_count])).toEqual([[1_000n, 4]]);
    await pay(f, second.payouts[0]!.id, at(7), 'WIRE-2');
    expect(await balances(db, f, partnerId)).toEqual({ pending: 0n, payable: 0n, paid: 11_000n });
    await expectLedgerOk(db, f.tenantId);
  });

  it('pays at the minimum exactly, not one minor unit below; a partner override replaces the program minimum', async () => {
    const f = await lifecycleFixture(db, { minimumPayout: 5_000n, partners: 3 });
    const [below, exact, above] = f.partners.map((p) => p.id) as [string, string, string];
    await payable(f, below, 4_999n);
    await payable(f, exact, 5_000n);
    await payable(f, above, 5_001n);
    const result = await run(f, at(1));
    expect(result.payouts.map((p) => [p.partner_id, p.amount, p.minimum_payout]).sort()).toEqual(
      [
        [exact, 5_000n, 5_000n],
        [above, 5_001n, 5_000n],
      ].sort(),
    );
    expect(result.belowMinimum).toEqual([
      { partnerId: below, programId: f.program.id, amount: 4_999n, minimumPayout: 5_000n },
    ]);

    await db.transaction().execute((tx) =>
      setMinimumOverride(tx, {
        tenantId: f.tenantId,
        partnerId: below,
        programId: f.program.id,
        minimumPayout: 4_999n,
        now: at(1),
      }),
    );
    const second = await run(f, at(2));
    expect(second.payouts.map((p) => [p.partner_id, p.amount, p.minimum_payout])).toEqual([
      [below, 4_999n, 4_999n],
    ]);
    // Nothing is claimed twice: a third run finds nothing left.
    expect((await run(f, at(3))).batch).toBeNull();
    await expectLedgerOk(db, f.tenantId);
  });

  it('marks a payout failed: no money moves and its lines return to the next run; a payout is paid only once', async () => {
    const f = await lifecycleFixture(db);
    const partnerId = f.partners[0]!.id;
    const line = await payable(f, partnerId, 3_000n);
    const first = await run(f, at(1));
    const payoutId = first.payouts[0]!.id;
    expect((await lineOf(db, line.id)).payout_id).toBe(payoutId);
    await db.transaction().execute((tx) => approveBatch(tx, ctx(f, at(1)), first.batch!.id));
    const failed = await db
      .transaction()
      .execute((tx) =>
        applyOutcome(tx, ctx(f, at(2)), manualPayoutProvider.markFailed(payoutId, 'IBAN rejected')),
      );
    expect(failed).toMatchObject({ status: 'failed', failure_reason: 'IBAN rejected' });
    expect(await lineOf(db, line.id)).toMatchObject({ status: 'approved', payout_id: null });
    expect(await balances(db, f, partnerId)).toEqual({ pending: 0n, payable: 3_000n, paid: 0n });
    const batch = await db
      .selectFrom('payout_batches')
      .selectAll()
      .where('id', '=', first.batch!.id)
      .executeTakeFirstOrThrow();
    expect(batch.status).toBe('failed');

    const second = await run(f, at(3));
    expect(second.payouts.map((p) => p.amount)).toEqual([3_000n]);
    const paid = await pay(f, second.payouts[0]!.id, at(4), 'WIRE-77');
    expect(paid).toMatchObject({ status: 'paid', reference: 'WIRE-77' });
    const again = await db
      .transaction()
      .execute((tx) => markPayoutPaid(tx, ctx(f, at(5)), second.payouts[0]!.id, 'WIRE-78'))
      .catch((e) => e);
    expect(again).toMatchObject({ code: 'invalid_transition' });
    await expect(
      db.transaction().execute((tx) => markPayoutFailed(tx, ctx(f, at(5)), second.payouts[0]!.id, 'late')),
    ).rejects.toMatchObject({ code: 'invalid_transition' });
    expect(await balances(db, f, partnerId)).toEqual({ pending: 0n, payable: 0n, paid: 3_000n });
    const events = (await eventsOf(db, 'payout.paid')).filter((e) => e.tenantId === f.tenantId);
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({ partnerId, amount: '3000', currency: 'USD', reference: 'WIRE-77' }),
    ]);
    await expectLedgerOk(db, f.tenantId);
  });

  it('refuses to settle a draft batch (approve first)', async () => {
    const f = await lifecycleFixture(db);
    await payable(f, f.partners[0]!.id, 100n);
    const result = await run(f, at(1));
    await expect(
      db.transaction().execute((tx) => markPayoutPaid(tx, ctx(f, at(2)), result.payouts[0]!.id, 'X')),
    ).rejects.toMatchObject({ code: 'invalid_transition' });
  });

  it('runs concurrently on the same balances without claiming a line twice', async () => {
    const f = await lifecycleFixture(db, { partners: 6 });
    for (const [i, partner] of f.partners.entries()) {
      for (let k = 0; k < 5; k++) await payable(f, partner.id, BigInt(100 * (i + 1) + k));
    }
    const runs = await Promise.all(Array.from({ length: 4 }, () => run(f, at(1))));
    const claimed = runs.flatMap((r) => r.payouts);
    // Each partner is paid by exactly one run, for the sum of all its lines.
    expect(claimed.map((p) => p.partner_id).sort()).toEqual(f.partners.map((p) => p.id).sort());
    const lines = await db
      .selectFrom('commission_lines')
      .selectAll()
      .where('tenant_id', '=', f.tenantId)
      .execute();
    for (const payout of claimed) {
      const mine = lines.filter((l) => l.payout_id === payout.id);
      expect(mine).toHaveLength(5);
      expect(mine.reduce((s, l) => s + l.amount, 0n)).toBe(payout.amount);
    }
    expect(lines.every((l) => l.payout_id !== null)).toBe(true);
    await expectLedgerOk(db, f.tenantId);
  });
});
