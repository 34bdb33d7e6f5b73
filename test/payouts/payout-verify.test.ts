import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { runPayouts } from '../../src/payouts/payout-run.ts';
import {
  accrue,
  approve,
  DAY,
  expectLedgerOk,
  lifecycleFixture,
  systemAudit,
} from '../commissions/lifecycle-world.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const at = new Date('2026-03-01T10:00:00.000Z');

describe(`ledger verify: the money lifecycle's invariants (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    await database.destroy();
  });

  /** A tenant with one claimed payout of two lines and one line still pending. */
  async function scenario() {
    const f = await lifecycleFixture(db, { holdDays: 0 });
    const partnerId = f.partners[0]!.id;
    const a = await accrue(db, f, { partnerId, amount: 600n, at });
    const b = await accrue(db, f, { partnerId, amount: 400n, at });
    await approve(db, f, at);
    const pending = await accrue(db, f, {
      partnerId,
      amount: 50n,
      at: new Date(at.getTime() + DAY),
      holdDays: 30,
    });
    const run = await db.transaction().execute((tx) =>
      runPayouts(tx, {
        tenantId: f.tenantId,
        currency: 'USD',
        now: at,
        createdBy: 'test',
        audit: systemAudit(f.tenantId),
      }),
    );
    await expectLedgerOk(db, f.tenantId);
    return { f, a, b, pending, payout: run.payouts[0]! };
  }
  const violations = async (tenantId: string, check: string) =>
    (await verifyLedger(db, { tenantId })).checks.find((c) => c.name === check)!;

  it('reports a line whose status moved without its money (partner account ≠ its lines)', async () => {
    const { f, pending } = await scenario();
    await db
      .updateTable('commission_lines')
      .set({ status: 'approved' })
      .where('id', '=', pending.id)
      .execute();
    const check = await violations(f.tenantId, 'partner_accounts_match_lines');
    expect(check.violations).toBe(2);
    expect(check.samples.map((s) => [s.account_kind, s.account_balance, s.sum_of_lines]).sort()).toEqual(
      [
        ['partner_payable', '1000', '1050'],
        ['partner_pending', '50', '0'],
      ].sort(),
    );
  });

  it('reports a payout whose amount is not the sum of its lines, and a paid line outside a paid payout', async () => {
    const { f, a, payout } = await scenario();
    await db.updateTable('payouts').set({ amount: 1_001n }).where('id', '=', payout.id).execute();
    const amount = await violations(f.tenantId, 'payout_matches_lines');
    expect(amount.violations).toBe(1);
    expect(amount.samples[0]).toMatchObject({ payout_id: payout.id, amount: '1001', sum_of_lines: '1000' });

    await db.updateTable('commission_lines').set({ status: 'paid' }).where('id', '=', a.id).execute();
    const paid = await violations(f.tenantId, 'paid_line_in_paid_payout');
    expect(paid.violations).toBe(1);
    expect(paid.samples[0]).toMatchObject({ line_id: a.id, payout_status: 'pending' });
    expect((await verifyLedger(db, { tenantId: f.tenantId })).ok).toBe(false);
  });
});
