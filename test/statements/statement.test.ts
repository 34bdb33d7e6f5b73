import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { Db } from '../../src/db/database.ts';
import { insertPartnerLink, linkToken } from '../../src/links/partner-link.service.ts';
import { runPayouts } from '../../src/payouts/payout-run.ts';
import { approveBatch, markPayoutPaid } from '../../src/payouts/payout-settlement.ts';
import { buildStatement } from '../../src/statements/statement.ts';
import {
  accrue,
  approve,
  balances,
  DAY,
  expectLedgerOk,
  type LifecycleFixture,
  lifecycleFixture,
  reverse,
  systemAudit,
} from '../commissions/lifecycle-world.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { usingPostgres } from '../helpers/test-database.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const march = new Date('2026-03-01T00:00:00.000Z');
const april = new Date('2026-04-01T00:00:00.000Z');
const may = new Date('2026-05-01T00:00:00.000Z');
const day = (d: Date, n: number) => new Date(d.getTime() + n * DAY);

describe(`partner statements (${mode})`, () => {
  const clock = new ManualClock(day(may, 10));
  let world: TestWorld;
  let db: Db;
  let f: LifecycleFixture;
  let partnerId: string;
  let dealId: string;
  let eventId: string;
  const ruleId = randomUUID();
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    world = await openWorld({ clock });
    db = world.runtime.db;
    f = await lifecycleFixture(db, { holdDays: 0, partners: 1 });
    partnerId = f.partners[0]!.id;
    const deal = await db
      .insertInto('deals')
      .values({
        tenant_id: f.tenantId,
        source: 'api',
        crm_deal_id: 'CRM-42',
        program_id: f.program.id,
        name: 'Acme rollout',
        amount: 1_000_000n,
        currency: 'USD',
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    dealId = deal.id;
    const event = await db
      .insertInto('deal_events')
      .values({
        tenant_id: f.tenantId,
        deal_id: dealId,
        source: 'api',
        source_event_id: 'evt-won-1',
        type: 'deal.stage_changed',
        occurred_at: day(march, 5),
        payload: JSON.stringify({}),
        outcome: 'applied',
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    eventId = event.id;

    // March: a 10% revenue share on the deal (approved and paid in April), and a line later lost.
    const share = await accrue(db, f, {
      partnerId,
      amount: 100_000n,
      at: day(march, 5),
      extra: {
        dealId,
        dealEventId: eventId,
        ruleId,
        ruleVersion: 3,
        rate: '0.1',
        basisAmount: 1_000_000n,
        basisCurrency: 'USD',
        fxRate: '1',
      },
    });
    const lost = await accrue(db, f, { partnerId, amount: 7_000n, at: day(march, 20) });
    ids.share = share.id;
    ids.lost = lost.id;
    await approve(db, f, day(april, 2), { lineIds: [share.id] });
    await reverse(db, f, [lost.id], day(april, 3));
    await db.transaction().execute(async (tx) => {
      const ctx = {
        tenantId: f.tenantId,
        now: day(april, 10),
        actor: 'user:finance',
        audit: systemAudit(f.tenantId),
      };
      const run = await runPayouts(tx, { ...ctx, currency: 'USD', createdBy: 'user:finance' });
      await approveBatch(tx, ctx, run.batch!.id);
      ids.payout = run.payouts[0]!.id;
      ids.batch = run.batch!.id;
      await markPayoutPaid(tx, ctx, run.payouts[0]!.id, 'WIRE-APR');
    });
    // April: a new line still pending at the end of the month.
    ids.april = (
      await accrue(db, f, {
        partnerId,
        amount: 2_500n,
        at: day(april, 20),
        extra: { kind: 'recurring', periodKey: '2026-04', overrideDepth: 2, ruleVersion: 1 },
      })
    ).id;
  });
  afterAll(async () => {
    await world.close();
  });

  it('traces every line to its deal, deal event, rule, rate, basis, fx rate and payout', async () => {
    const march_ = await buildStatement(db, { tenantId: f.tenantId, partnerId, from: march, to: april });
    const share = march_.lines.find((l) => l.id === ids.share)!;
    expect(share).toMatchObject({
      kind: 'commission',
      status: 'paid',
      amount: 100_000n,
      dealId,
      crmDealId: 'CRM-42',
      dealName: 'Acme rollout',
      dealEventId: eventId,
      dealEventSourceId: 'evt-won-1',
      dealEventType: 'deal.stage_changed',
      ruleId,
      ruleVersion: 3,
      rate: '0.1',
      basisAmount: 1_000_000n,
      basisCurrency: 'USD',
      fxRate: '1',
      payout: { id: ids.payout, batchId: ids.batch, status: 'paid', reference: 'WIRE-APR' },
    });
    expect(march_.lines.map((l) => l.id).sort()).toEqual([ids.share, ids.lost].sort());
    expect(march_.balances).toEqual([
      {
        programId: f.program.id,
        currency: 'USD',
        opening: { pending: 0n, payable: 0n, paid: 0n },
        movements: { accrued: 107_000n, approved: 0n, clawedBackFromPayable: 0n, paid: 0n },
        closing: { pending: 107_000n, payable: 0n, paid: 0n },
      },
    ]);
  });

  it('gives every line as stored: nulls, negative amounts, timestamps and free text columns', async () => {
    // Free text as written, commas included.
    await db
      .updateTable('commission_lines')
      .set({ approved_by: 'user:finance, EMEA' })
      .where('id', '=', ids.share!)
      .execute();
    const statement = await buildStatement(db, { tenantId: f.tenantId, partnerId, from: march, to: may });
    const stored = await db
      .selectFrom('commission_lines')
      .selectAll()
      .where('tenant_id', '=', f.tenantId)
      .where('partner_id', '=', partnerId)
      .orderBy('accrued_at')
      .orderBy('id')
      .execute();
    const optionalBig = (value: unknown) => (value === null ? null : BigInt(String(value)));
    expect(
      statement.lines.map(({ crmDealId, dealName, dealEventSourceId, dealEventType, payout, ...own }) => own),
    ).toEqual(
      stored.map((row) => ({
        id: row.id,
        programId: row.program_id,
        kind: row.kind,
        status: row.status,
        amount: BigInt(String(row.amount)),
        currency: row.currency,
        accruedAt: row.accrued_at,
        holdUntil: row.hold_until,
        approvedAt: row.approved_at,
        approvedBy: row.approved_by,
        paidAt: row.paid_at,
        causeKey: row.cause_key,
        dealId: row.deal_id,
        dealEventId: row.deal_event_id,
        ruleId: row.rule_id,
        ruleVersion: row.rule_version,
        rate: row.rate,
        basisAmount: optionalBig(row.basis_amount),
        basisCurrency: row.basis_currency,
        fxRate: row.fx_rate,
        periodKey: row.period_key,
        overrideDepth: row.override_depth,
        sourceLineId: row.source_line_id,
        reversesLineId: row.reverses_line_id,
      })),
    );
    // What the comparison covered: a clawback (negative, naming its line), a paid line, nulls.
    const clawback = statement.lines.find((line) => line.kind === 'clawback')!;
    expect(clawback.amount).toBe(-7_000n);
    expect(clawback.reversesLineId).toBe(ids.lost);
    const share = statement.lines.find((line) => line.id === ids.share)!;
    expect(share.approvedBy).toBe('user:finance, EMEA');
    expect(share.paidAt).toBeInstanceOf(Date);
    expect(statement.lines.find((line) => line.id === ids.april)).toMatchObject({
      kind: 'recurring',
      periodKey: '2026-04',
      overrideDepth: 2,
      ruleVersion: 1,
      dealId: null,
      approvedAt: null,
      basisAmount: null,
    });
  });

  it('carries March closing into April opening, and April closing equals the ledger balances', async () => {
    const april_ = await buildStatement(db, { tenantId: f.tenantId, partnerId, from: april, to: may });
    expect(april_.balances).toEqual([
      {
        programId: f.program.id,
        currency: 'USD',
        opening: { pending: 107_000n, payable: 0n, paid: 0n },
        // The lost line is cancelled within pending (−7,000); the share approved then paid.
        movements: { accrued: -4_500n, approved: 100_000n, clawedBackFromPayable: 0n, paid: 100_000n },
        closing: { pending: 2_500n, payable: 0n, paid: 100_000n },
      },
    ]);
    // Lines that moved in April: the share (approved, paid), the clawback, and the new (recurring) line.
    expect(april_.lines.map((l) => l.kind).sort()).toEqual(['clawback', 'commission', 'recurring']);
    expect(await balances(db, f, partnerId)).toEqual(april_.balances[0]!.closing);
    await expectLedgerOk(db, f.tenantId);
  });

  it('refuses a period that is not one, naming the bound: 400, never a 500', async () => {
    for (const [query, field] of [
      ['from=2026-13-45&to=2026-12-31', 'querystring.from'],
      ['from=2026-02-30&to=2026-03-31', 'querystring.from'],
      ['from=0001-01-01&to=2026-01-01', 'querystring.from'],
      ['from=2026-01-01&to=9999-12-31', 'querystring.to'],
      ['from=2026-01-01T00:00:00Z&to=%2B275760-09-13T00:00:00Z', 'querystring.to'],
      ['from=yesterday&to=2026-01-01', 'querystring.from'],
      ['from=2026-05-01&to=2026-04-30', 'querystring.from'],
    ]) {
      const res = await world.app.inject({
        method: 'GET',
        url: `/api/v1/partners/${partnerId}/statement?${query}`,
        headers: f.t.as('admin'),
      });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.details.fields[0].field, query).toBe(field);
    }
    // The widest period taken: from 1900-01-01 to 9999-12-30, every line of the partner.
    const all = await world.app.inject({
      method: 'GET',
      url: `/api/v1/partners/${partnerId}/statement?from=1900-01-01&to=9999-12-30`,
      headers: f.t.as('admin'),
    });
    expect(all.statusCode, all.body).toBe(200);
    const count = await db
      .selectFrom('commission_lines')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('partner_id', '=', partnerId)
      .executeTakeFirstOrThrow();
    expect(all.json().lines).toHaveLength(Number(count.n));
  });

  it('serves JSON and CSV to staff, and to a partner contact only within its subtree', async () => {
    const json = await world.app.inject({
      method: 'GET',
      url: `/api/v1/partners/${partnerId}/statement?from=2026-04-01&to=2026-04-30`,
      headers: f.t.as('sales_rep'),
    });
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json().balances[0].closing).toEqual({ pending: 2_500, payable: 0, paid: 100_000 });
    const csv = await world.app.inject({
      method: 'GET',
      url: `/api/v1/partners/${partnerId}/statement?from=2026-03-01&to=2026-03-31&format=csv`,
      headers: f.t.as('admin'),
    });
    const rows = csv.body.trimEnd().split('\r\n');
    expect(rows[0]!.split(',').slice(0, 6)).toEqual([
      'line_id',
      'program_id',
      'kind',
      'status',
      'currency',
      'amount',
    ]);
    const shareRow = rows.find((r) => r.startsWith(ids.share!))!;
    expect(shareRow).toContain(',commission,paid,USD,1000.00,100000,');
    expect(shareRow).toContain(
      `,${dealId},CRM-42,Acme rollout,${eventId},evt-won-1,deal.stage_changed,${ruleId},3,0.1,1000000,USD,1,`,
    );
    expect(shareRow).toContain(`,${ids.payout},${ids.batch},paid,WIRE-APR`);
    const balancesCsv = await world.app.inject({
      method: 'GET',
      url: `/api/v1/partners/${partnerId}/statement?from=2026-04-01&to=2026-04-30&format=csv&part=balances`,
      headers: f.t.as('admin'),
    });
    expect(balancesCsv.body.trimEnd().split('\r\n')[1]).toContain(
      ',USD,1070.00,0.00,0.00,-45.00,1000.00,0.00,1000.00,25.00,0.00,1000.00',
    );

    // A contact of the partner's parent sees it; a contact of an unrelated partner gets 404.
    const parent = await makePartner(db, f.tenantId);
    await db.updateTable('partners').set({ parent_id: parent.id }).where('id', '=', partnerId).execute();
    const stranger = await makePartner(db, f.tenantId);
    const tokenOf = async (owner: string) => {
      const contact = await makeContact(db, f.tenantId, owner);
      const link = await insertPartnerLink(db, {
        tenantId: f.tenantId,
        contactId: contact.id,
        purpose: 'view_statements',
        expiresAt: day(may, 60),
      });
      return linkToken(world.runtime.services.secrets.linkSigningKey, link.id);
    };
    const url = `/api/v1/portal/partners/${partnerId}/statement?from=2026-03-01&to=2026-04-30`;
    const mine = await world.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${await tokenOf(parent.id)}` },
    });
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json().lines.map((l: { id: string }) => l.id)).toContain(ids.share);
    const theirs = await world.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${await tokenOf(stranger.id)}` },
    });
    expect(theirs.statusCode).toBe(404);
  });
});
