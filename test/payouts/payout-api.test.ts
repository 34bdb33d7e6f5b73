import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { Db } from '../../src/db/database.ts';
import {
  accrue,
  balances,
  DAY,
  expectLedgerOk,
  type LifecycleFixture,
  lifecycleFixture,
  reverse,
} from '../commissions/lifecycle-world.ts';
import { usingPostgres } from '../helpers/test-database.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const start = new Date('2026-03-01T10:00:00.000Z');

describe(`payouts over the API: approve lines, run, approve, export CSV, settle (${mode})`, () => {
  const clock = new ManualClock(start);
  let world: TestWorld;
  let db: Db;
  let f: LifecycleFixture;

  beforeAll(async () => {
    world = await openWorld({ clock });
    db = world.runtime.db;
    f = await lifecycleFixture(db, { holdDays: 14, minimumPayout: 5_000n, partners: 2 });
    await db
      .updateTable('partners')
      .set({
        name: '=HYPERLINK("x"), Agency',
        payout_details: JSON.stringify({ iban: 'DE89370400440532013000' }),
      })
      .where('id', '=', f.partners[0]!.id)
      .execute();
  });
  afterAll(async () => {
    await world.close();
  });

  const inject = (
    role: 'admin' | 'program_manager' | 'sales_rep',
    method: 'GET' | 'POST',
    url: string,
    payload?: object,
  ) =>
    world.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: f.t.as(role),
      ...(payload ? { payload } : {}),
    });

  it('pays a partner end to end, netting a clawback, with a CSV per partner and one per line', async () => {
    const [agency, small] = f.partners.map((p) => p.id) as [string, string];
    const big = await accrue(db, f, { partnerId: agency, amount: 12_000n, at: start });
    const lost = await accrue(db, f, { partnerId: agency, amount: 3_000n, at: start });
    await accrue(db, f, { partnerId: small, amount: 4_999n, at: start });

    // Sales reps may look but not approve.
    expect(
      (await inject('sales_rep', 'GET', `/commission-lines?partnerId=${agency}`)).json().items,
    ).toHaveLength(2);
    expect(
      (await inject('sales_rep', 'POST', '/commission-lines/approve', { programId: f.program.id }))
        .statusCode,
    ).toBe(403);
    // Within the hold: nothing approved.
    clock.set(new Date(start.getTime() + 14 * DAY - 1));
    const early = await inject('program_manager', 'POST', '/commission-lines/approve', {
      programId: f.program.id,
    });
    expect(early.json().approved).toEqual([]);
    clock.set(new Date(start.getTime() + 14 * DAY));
    const approved = await inject('program_manager', 'POST', '/commission-lines/approve', {
      programId: f.program.id,
    });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().approved).toHaveLength(3);
    const listed = await inject(
      'admin',
      'GET',
      `/commission-lines?status=approved&programId=${f.program.id}&limit=2`,
    );
    expect(listed.json().items).toHaveLength(2);
    expect(listed.json().nextCursor).toEqual(expect.any(String));
    const rest = await inject(
      'admin',
      'GET',
      `/commission-lines?status=approved&programId=${f.program.id}&limit=2&cursor=${listed.json().nextCursor}`,
    );
    expect(rest.json().items).toHaveLength(1);
    expect(rest.json().nextCursor).toBeNull();
    await reverse(db, f, [lost.id], clock.now());

    const run = await inject('program_manager', 'POST', '/payouts', {
      currency: 'USD',
      programId: f.program.id,
    });
    expect(run.statusCode, run.body).toBe(201);
    const batch = run.json();
    expect(batch).toMatchObject({ status: 'draft', currency: 'USD', total: 12_000 });
    expect(batch.payouts).toEqual([
      expect.objectContaining({ partnerId: agency, amount: 12_000, lineCount: 3, status: 'pending' }),
    ]);
    const nothing = await inject('program_manager', 'POST', '/payouts', { currency: 'USD' });
    expect(nothing.statusCode).toBe(422);
    expect(nothing.json().error.code).toBe('not_eligible');

    // Export before approval is refused; program managers prepare, admins approve.
    const unapproved = await inject('program_manager', 'POST', `/payouts/${batch.id}/export`);
    expect(unapproved.statusCode).toBe(409);
    expect(unapproved.json().error).toMatchObject({
      code: 'invalid_transition',
      message: 'The payout batch is draft: it cannot be exported',
      details: { status: 'draft', allowed: ['approved', 'exported'] },
    });
    expect((await inject('program_manager', 'POST', `/payouts/${batch.id}/approve`)).statusCode).toBe(403);
    expect((await inject('admin', 'POST', `/payouts/${batch.id}/approve`)).json().status).toBe('approved');
    expect((await inject('admin', 'POST', `/payouts/${batch.id}/approve`)).json().error.message).toBe(
      'The payout batch is approved: it cannot be approved',
    );

    const csv = await inject('program_manager', 'POST', `/payouts/${batch.id}/export`);
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = csv.body.trimEnd().split('\r\n');
    expect(rows[0]).toBe(
      'batch_id,payout_id,partner_id,partner_name,partner_external_id,program_id,program_name,currency,amount,amount_minor,line_count,status,reference,payout_details',
    );
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain(`,${agency},"'=HYPERLINK(""x""), Agency",`);
    expect(rows[1]).toContain(',USD,120.00,12000,3,pending,,');
    expect(rows[1]).toContain('"{""iban"":""DE89370400440532013000""}"');
    const lines = (await inject('program_manager', 'POST', `/payouts/${batch.id}/export?part=lines`)).body
      .trimEnd()
      .split('\r\n');
    expect(lines).toHaveLength(4);
    const amounts = lines
      .slice(1)
      .map((l) => l.split(',')[11])
      .sort();
    expect(amounts).toEqual(['-30.00', '120.00', '30.00'].sort());
    expect(lines.slice(1).some((l) => l.includes(big.id))).toBe(true);
    expect((await inject('admin', 'GET', `/payouts/${batch.id}`)).json().status).toBe('exported');

    const payoutId = batch.payouts[0].id;
    const paid = await inject('admin', 'POST', `/payouts/${batch.id}/items/${payoutId}/paid`, {
      reference: 'SEPA-2026-03-15-001',
    });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ status: 'paid', reference: 'SEPA-2026-03-15-001', amount: 12_000 });
    expect((await inject('admin', 'GET', `/payouts/${batch.id}`)).json().status).toBe('paid');
    const twice = await inject('admin', 'POST', `/payouts/${batch.id}/items/${payoutId}/paid`, {
      reference: 'again',
    });
    expect(twice.statusCode).toBe(409);
    expect(await balances(db, f, agency)).toEqual({ pending: 0n, payable: 0n, paid: 12_000n });
    expect(await balances(db, f, small)).toEqual({ pending: 0n, payable: 4_999n, paid: 0n });
    const list = await inject('admin', 'GET', '/payouts?status=paid');
    expect(list.json().items.map((b: { id: string }) => b.id)).toEqual([batch.id]);
    await expectLedgerOk(db, f.tenantId);
  });
});
