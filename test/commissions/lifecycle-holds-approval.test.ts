import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalKey } from '../../src/commissions/approve-lines.ts';
import { releaseHolds } from '../../src/commissions/commission-lifecycle.ts';
import type { Db } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';
import {
  accrue,
  approve,
  balances,
  DAY,
  eventsOf,
  expectLedgerOk,
  lifecycleFixture,
  lineOf,
  reverse,
} from './lifecycle-world.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const accrued = new Date('2026-03-01T10:00:00.000Z');
const holdEnd = new Date(accrued.getTime() + 30 * DAY);
const ms = (date: Date, delta: number) => new Date(date.getTime() + delta);

describe(`commission lifecycle: hold and approval (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('releases a line from its hold exactly at hold_until: not one millisecond before', async () => {
    const f = await lifecycleFixture(db);
    const line = await accrue(db, f, { partnerId: f.partners[0]!.id, amount: 5_000n, at: accrued });
    expect(line.hold_until.toISOString()).toBe(holdEnd.toISOString());

    expect(await releaseHolds(db, ms(holdEnd, -1), { tenantId: f.tenantId })).toBe(0);
    expect((await lineOf(db, line.id)).status).toBe('pending');
    expect(await releaseHolds(db, holdEnd, { tenantId: f.tenantId })).toBe(1);
    expect((await lineOf(db, line.id)).status).toBe('awaiting_approval');
    // No money moves on release: still all in pending.
    expect(await balances(db, f, f.partners[0]!.id)).toEqual({ pending: 5_000n, payable: 0n, paid: 0n });
    const events = (await eventsOf(db, 'commission.awaiting_approval')).filter(
      (e) => e.tenantId === f.tenantId,
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({
      partnerId: f.partners[0]!.id,
      lineIds: [line.id],
      total: '5000',
    });
    await expectLedgerOk(db, f.tenantId);
  });

  it('approves a line by id only once its hold is over (1 ms before: skipped as in_hold; 1 ms after: approved)', async () => {
    const f = await lifecycleFixture(db);
    const partnerId = f.partners[0]!.id;
    const line = await accrue(db, f, { partnerId, amount: 12_345n, at: accrued });

    const early = await approve(db, f, ms(holdEnd, -1), { lineIds: [line.id] });
    expect(early.approved).toEqual([]);
    expect(early.skipped).toEqual([{ id: line.id, reason: 'in_hold' }]);
    expect(early.ledgerTransactionId).toBeNull();
    expect(await balances(db, f, partnerId)).toEqual({ pending: 12_345n, payable: 0n, paid: 0n });

    // Still `pending` (no sweep ran): approval checks hold_until itself.
    const late = await approve(db, f, ms(holdEnd, 1), { lineIds: [line.id] });
    expect(late.approved.map((l) => [l.id, l.status, l.approved_by])).toEqual([
      [line.id, 'approved', 'user:approver'],
    ]);
    expect(late.approved[0]!.approved_at?.toISOString()).toBe(ms(holdEnd, 1).toISOString());
    expect(await balances(db, f, partnerId)).toEqual({ pending: 0n, payable: 12_345n, paid: 0n });
    const tx = await db
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('id', '=', late.ledgerTransactionId!)
      .executeTakeFirstOrThrow();
    expect(tx.idempotency_key).toBe(approvalKey([line.id]));
    expect(tx.kind).toBe('approval');

    const again = await approve(db, f, ms(holdEnd, 2), { lineIds: [line.id] });
    expect(again.skipped).toEqual([{ id: line.id, reason: 'already_approved' }]);
    await expectLedgerOk(db, f.tenantId);
  });

  it('bulk-approves only the lines past their hold, one ledger transaction, one event and audit entry per partner', async () => {
    const f = await lifecycleFixture(db, { partners: 2 });
    const [a, b] = f.partners.map((p) => p.id) as [string, string];
    const due1 = await accrue(db, f, { partnerId: a, amount: 1_000n, at: accrued });
    const due2 = await accrue(db, f, { partnerId: a, amount: 2_000n, at: ms(accrued, DAY) });
    const dueB = await accrue(db, f, { partnerId: b, amount: 700n, at: accrued });
    const held = await accrue(db, f, { partnerId: a, amount: 4_000n, at: ms(accrued, 20 * DAY) });
    const now = ms(accrued, 31 * DAY);

    const result = await approve(db, f, now);
    expect(result.approved.map((l) => l.id).sort()).toEqual([due1.id, due2.id, dueB.id].sort());
    expect((await lineOf(db, held.id)).status).toBe('pending');
    expect(await balances(db, f, a)).toEqual({ pending: 4_000n, payable: 3_000n, paid: 0n });
    expect(await balances(db, f, b)).toEqual({ pending: 0n, payable: 700n, paid: 0n });
    const entries = await db
      .selectFrom('ledger_entries')
      .select('amount')
      .where('transaction_id', '=', result.ledgerTransactionId!)
      .execute();
    expect(entries.map((e) => e.amount).sort()).toEqual([-3_000n, -700n, 700n, 3_000n].sort());

    const events = (await eventsOf(db, 'commission.approved')).filter((e) => e.tenantId === f.tenantId);
    const ofA = events.find((e) => e.data.partnerId === a)!;
    expect(ofA.data).toMatchObject({ programId: f.program.id, total: '3000', currency: 'USD' });
    expect(ofA.data.lines).toEqual(
      expect.arrayContaining([
        { id: due1.id, amount: '1000', currency: 'USD' },
        { id: due2.id, amount: '2000', currency: 'USD' },
      ]),
    );
    expect(events.find((e) => e.data.partnerId === b)?.data.total).toBe('700');
    const audit = await db
      .selectFrom('audit_log')
      .select(['subject_id', 'action'])
      .where('tenant_id', '=', f.tenantId)
      .where('action', '=', 'commission.approved')
      .execute();
    expect(audit.map((r) => r.subject_id).sort()).toEqual([a, b].sort());

    // Only partner b's lines, when asked for one partner.
    const held2 = await accrue(db, f, { partnerId: b, amount: 50n, at: accrued });
    const onlyB = await approve(db, f, now, { programId: f.program.id, partnerId: b });
    expect(onlyB.approved.map((l) => l.id)).toEqual([held2.id]);
    await expectLedgerOk(db, f.tenantId);
  });

  it('does not approve a line reversed before approval, and claws back from payable a line reversed after', async () => {
    const f = await lifecycleFixture(db);
    const partnerId = f.partners[0]!.id;
    const cancelled = await accrue(db, f, { partnerId, amount: 900n, at: accrued });
    const approvedFirst = await accrue(db, f, { partnerId, amount: 400n, at: accrued });
    await reverse(db, f, [cancelled.id], ms(accrued, DAY));
    const result = await approve(db, f, ms(holdEnd, 1), { lineIds: [cancelled.id, approvedFirst.id] });
    expect(result.approved.map((l) => l.id)).toEqual([approvedFirst.id]);
    expect(result.skipped).toEqual([{ id: cancelled.id, reason: 'cancelled' }]);
    await reverse(db, f, [approvedFirst.id], ms(holdEnd, DAY));
    expect(await balances(db, f, partnerId)).toEqual({ pending: 0n, payable: 0n, paid: 0n });
    await expectLedgerOk(db, f.tenantId);
  });

  it('races approvals and reversals of the same lines without deadlock: each line ends approved-and-clawed-back or cancelled', async () => {
    const f = await lifecycleFixture(db);
    const partnerId = f.partners[0]!.id;
    const lines = [];
    for (let i = 0; i < 20; i++)
      lines.push(await accrue(db, f, { partnerId, amount: 100n + BigInt(i), at: accrued }));
    const ids = lines.map((l) => l.id);
    const shuffled = [...ids].reverse();
    await Promise.all([
      approve(db, f, ms(holdEnd, 1), { lineIds: ids.slice(0, 15) }),
      reverse(db, f, shuffled.slice(0, 12), ms(holdEnd, 1)),
      approve(db, f, ms(holdEnd, 1), { lineIds: ids.slice(5) }),
      reverse(db, f, ids.slice(8), ms(holdEnd, 1)),
    ]);
    const after = await db
      .selectFrom('commission_lines')
      .selectAll()
      .where('tenant_id', '=', f.tenantId)
      .execute();
    const total = (status: string) =>
      after.filter((l) => l.status === status).reduce((sum, l) => sum + l.amount, 0n);
    const b = await balances(db, f, partnerId);
    expect(b.pending).toBe(total('pending') + total('awaiting_approval') + total('cancelled'));
    expect(b.payable).toBe(total('approved'));
    await expectLedgerOk(db, f.tenantId);
  });
});
