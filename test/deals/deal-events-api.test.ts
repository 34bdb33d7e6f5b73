import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { usingPostgres } from '../helpers/test-database.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

describe(`POST /api/v1/deal-events, GET /api/v1/deals/:id, plans and preview over HTTP (${mode})`, () => {
  let world: TestWorld;
  let db: Db;
  let t: TenantWithKeys;
  let program: ProgramRow;
  let parent: PartnerRow;
  let child: PartnerRow;
  let planId: string;
  let seq = 0;

  beforeAll(async () => {
    world = await openWorld();
    db = world.database.handle.db;
    t = await makeTenant(db);
    program = await makeProgram(db, t.tenant.id);
    parent = await makePartner(db, t.tenant.id);
    child = await makePartner(db, t.tenant.id, { parentId: parent.id });
    const plan = await world.app.inject({
      method: 'POST',
      url: `/api/v1/programs/${program.id}/commission-plans`,
      headers: t.as('admin'),
      payload: { name: 'Standard' },
    });
    expect(plan.statusCode).toBe(201);
    planId = plan.json().id;
    for (const rule of [
      { ruleKey: 'share', type: 'revenue_share', config: { rate: '0.1' } },
      { ruleKey: 'ovr', type: 'override', config: { basis: 'commission', levels: ['0.1'] } },
    ]) {
      const res = await world.app.inject({
        method: 'POST',
        url: `/api/v1/commission-plans/${planId}/rules`,
        headers: t.as('admin'),
        payload: { ...rule, effectiveFrom: '2026-01-01T00:00:00Z' },
      });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await world.close();
  });

  const post = (payload: object, headers: Record<string, string> = {}) =>
    world.app.inject({
      method: 'POST',
      url: '/api/v1/deal-events',
      headers: { ...t.as('admin'), ...headers },
      payload,
    });
  const wonEvent = (crmDealId: string, amount: string | number, extra: object = {}) => ({
    sourceEventId: `e-${++seq}`,
    crmDealId,
    occurredAt: '2026-03-02T10:00:00Z',
    type: 'deal.stage_changed',
    changes: {
      stage: { id: 'closedwon', category: 'won', label: 'Closed won' },
      amount: { amount, currency: 'USD' },
    },
    programId: program.id,
    attributions: [{ partnerId: child.id }],
    ...extra,
  });

  it('an API-fed won deal of "1000005" minor units answers applied with its revenue share (100,000) and override (10,000)', async () => {
    const res = await post(wonEvent('api-1', '1000005'));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.outcome).toBe('applied');
    expect(body.deal).toMatchObject({ stageCategory: 'won', amount: '1000005', programId: program.id });
    expect(body.lines.map((l: { partnerId: string; amount: string }) => [l.partnerId, l.amount])).toEqual([
      [child.id, '100000'],
      [parent.id, '10000'],
    ]);
    const deal = await world.app.inject({
      method: 'GET',
      url: `/api/v1/deals/${body.deal.id}`,
      headers: t.as('sales_rep'),
    });
    expect(deal.statusCode).toBe(200);
    expect(deal.json().attributions).toEqual([
      { partnerId: child.id, role: 'referral', splitWeight: '1', position: 0 },
    ]);
    expect(deal.json().lines).toHaveLength(2);
  });

  it('the same event again is a duplicate; the same Idempotency-Key replays the first answer', async () => {
    const event = wonEvent('api-2', 500_000);
    const first = await post(event, { 'idempotency-key': 'k-api-2' });
    const replay = await post(event, { 'idempotency-key': 'k-api-2' });
    expect(replay.json()).toEqual(first.json());
    const again = await post(event);
    expect(again.json().outcome).toBe('duplicate');
    expect(again.json().lines).toEqual([]);
  });

  it('only an admin may feed deal events; a bad amount is a 400', async () => {
    const res = await world.app.inject({
      method: 'POST',
      url: '/api/v1/deal-events',
      headers: t.as('program_manager'),
      payload: wonEvent('api-3', 1),
    });
    expect(res.statusCode).toBe(403);
    expect((await post(wonEvent('api-3', '10.5'))).statusCode).toBe(400);
  });

  it('refuses with a 400, storing nothing: an amount beyond 18 digits, a zero split weight, a NUL character', async () => {
    const deals = async () =>
      (await db.selectFrom('deals').select('crm_deal_id').where('tenant_id', '=', t.tenant.id).execute())
        .length;
    const before = await deals();
    const refusals = [
      { event: wonEvent('api-big', '1000000000000000000'), field: 'body.changes.amount.amount' },
      { event: wonEvent('api-big', '-1000000000000000000'), field: 'body.changes.amount.amount' },
      {
        event: wonEvent('api-zero', 1000, { attributions: [{ partnerId: child.id, splitWeight: '0.000' }] }),
        field: 'body.attributions.0.splitWeight',
      },
      {
        event: wonEvent('api-zero', 1000, { attributions: [{ partnerId: child.id, splitWeight: '00' }] }),
        field: 'body.attributions.0.splitWeight',
      },
      { event: wonEvent('api-nul\u0000', 1000), field: 'body.crmDealId' },
      {
        event: {
          ...wonEvent('api-nul', 1000),
          type: 'deal.updated',
          changes: { properties: { a: 'b\u0000' } },
        },
        field: 'body.changes.properties.a',
      },
    ];
    for (const { event, field } of refusals) {
      const res = await post(event);
      expect(res.statusCode, field).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
      expect(res.json().error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    expect(await deals()).toBe(before);
    // The largest amount taken (18 digits) is recorded; a split weight of "0.5" is a weight. (In
    // June: the preview below covers March.)
    const june = { occurredAt: '2026-06-01T10:00:00Z' };
    const largest = await post(wonEvent('api-18-digits', '-999999999999999999', june));
    expect(largest.statusCode).toBe(200);
    expect(largest.json().deal.amount).toBe('-999999999999999999');
    const half = await post(
      wonEvent('api-half', 1000, { ...june, attributions: [{ partnerId: child.id, splitWeight: '0.5' }] }),
    );
    expect(half.statusCode).toBe(200);
    expect(half.json().deal.attributions[0].splitWeight).toBe('0.5');
  });

  it('a commission beyond the 64-bit ledger columns is a 400 naming the ledger lines, and nothing is stored', async () => {
    const rule = await world.app.inject({
      method: 'POST',
      url: `/api/v1/commission-plans/${planId}/rules`,
      headers: t.as('admin'),
      payload: {
        ruleKey: 'huge-fee',
        type: 'flat_fee',
        config: { amount: '9999999999999999999', on: 'deal_won' },
        effectiveFrom: '2026-01-01T00:00:00Z',
      },
    });
    expect(rule.statusCode).toBe(400);
    expect(rule.json().error.details.fields.map((f: { field: string }) => f.field)).toEqual([
      'config.amount',
    ]);

    // A rate of 100,000,000 on an 18-digit amount: each is accepted, their product cannot be stored.
    const otherProgram = await makeProgram(db, t.tenant.id);
    const plan = await world.app.inject({
      method: 'POST',
      url: `/api/v1/programs/${otherProgram.id}/commission-plans`,
      headers: t.as('admin'),
      payload: { name: 'Absurd' },
    });
    const huge = await world.app.inject({
      method: 'POST',
      url: `/api/v1/commission-plans/${plan.json().id}/rules`,
      headers: t.as('admin'),
      payload: {
        ruleKey: 'huge-share',
        type: 'revenue_share',
        config: { rate: '100000000' },
        effectiveFrom: '2026-01-01T00:00:00Z',
      },
    });
    expect(huge.statusCode).toBe(201);
    const res = await post(wonEvent('api-overflow', '999999999999999999', { programId: otherProgram.id }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/must fit a 64-bit integer of minor units/);
    const stored = await db
      .selectFrom('deals')
      .select('id')
      .where('tenant_id', '=', t.tenant.id)
      .where('crm_deal_id', '=', 'api-overflow')
      .execute();
    expect(stored).toEqual([]);
  });

  it('a rule config that does not fit its type is refused with every problem', async () => {
    const res = await world.app.inject({
      method: 'POST',
      url: `/api/v1/commission-plans/${planId}/rules`,
      headers: t.as('admin'),
      payload: {
        ruleKey: 'bad',
        type: 'volume_tier',
        config: { period: 'week' },
        effectiveFrom: '2026-01-01T00:00:00Z',
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
    expect(res.json().error.details.fields.length).toBeGreaterThan(1);
  });

  it('a new version of a rule closes the previous one at its effective date', async () => {
    const res = await world.app.inject({
      method: 'POST',
      url: `/api/v1/commission-plans/${planId}/rules`,
      headers: t.as('admin'),
      payload: {
        ruleKey: 'share',
        type: 'revenue_share',
        config: { rate: '0.12' },
        effectiveFrom: '2026-06-01T00:00:00Z',
      },
    });
    expect(res.json()).toMatchObject({ version: 2, status: 'active' });
    const plan = await world.app.inject({
      method: 'GET',
      url: `/api/v1/commission-plans/${planId}`,
      headers: t.as('program_manager'),
    });
    const shares = plan.json().rules.filter((r: { ruleKey: string }) => r.ruleKey === 'share');
    expect(
      shares.map((r: { version: number; effectiveTo: string | null }) => [r.version, r.effectiveTo]),
    ).toEqual([
      [1, '2026-06-01T00:00:00.000Z'],
      [2, null],
    ]);
  });

  it('a preview of a draft plan (20 %) over March shows what it would have paid and writes no ledger row', async () => {
    const draft = await world.app.inject({
      method: 'POST',
      url: `/api/v1/programs/${program.id}/commission-plans`,
      headers: t.as('admin'),
      payload: { name: 'Richer', attach: false },
    });
    await world.app.inject({
      method: 'POST',
      url: `/api/v1/commission-plans/${draft.json().id}/rules`,
      headers: t.as('admin'),
      payload: {
        ruleKey: 'share',
        type: 'revenue_share',
        config: { rate: '0.2' },
        effectiveFrom: '2026-01-01T00:00:00Z',
        status: 'draft',
      },
    });
    const count = async () =>
      Number(
        (
          await db
            .selectFrom('ledger_entries')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const res = await world.app.inject({
      method: 'POST',
      url: `/api/v1/programs/${program.id}/plan-preview`,
      headers: t.as('program_manager'),
      payload: { planId: draft.json().id, from: '2026-03-01', to: '2026-03-31' },
    });
    expect(res.statusCode).toBe(200);
    // Deals api-1 (1,000,005 → 200,001) and api-2 (500,000 → 100,000), both to the child.
    expect(res.json().totals).toEqual([{ partnerId: child.id, currency: 'USD', amount: '300001' }]);
    expect(await count()).toBe(before);
    const empty = await world.app.inject({
      method: 'POST',
      url: `/api/v1/programs/${program.id}/plan-preview`,
      headers: t.as('program_manager'),
      payload: { planId: draft.json().id, from: '2026-04-01', to: '2026-04-30' },
    });
    expect(empty.json()).toMatchObject({ deals: 0, totals: [] });
    // Days the database cannot place in every zone: a 400 naming the bound, not a 500.
    for (const [from, to, field] of [
      ['0001-01-01', '2026-03-31', 'body.from'],
      ['2026-03-01', '9999-12-31', 'body.to'],
    ]) {
      const res = await world.app.inject({
        method: 'POST',
        url: `/api/v1/programs/${program.id}/plan-preview`,
        headers: t.as('program_manager'),
        payload: { planId: draft.json().id, from, to },
      });
      expect(res.statusCode, `${from} ${to}`).toBe(400);
      expect(res.json().error.details.fields[0].field).toBe(field);
    }
  });

  it('fx rates are set by an admin and listed', async () => {
    const set = await world.app.inject({
      method: 'POST',
      url: '/api/v1/fx-rates',
      headers: t.as('admin'),
      payload: { from: 'EUR', to: 'USD', rate: '1.0835', effectiveOn: '2026-03-01' },
    });
    expect(set.statusCode).toBe(201);
    const list = await world.app.inject({
      method: 'GET',
      url: '/api/v1/fx-rates',
      headers: t.as('program_manager'),
    });
    expect(list.json().items).toEqual([
      expect.objectContaining({ from: 'EUR', to: 'USD', rate: '1.0835', effectiveOn: '2026-03-01' }),
    ]);
  });

  it('revenue.recorded is stored once per revenue id for the recurring share', async () => {
    const event = (id: string) => ({
      sourceEventId: `rev-${id}-${++seq}`,
      crmDealId: 'api-1',
      occurredAt: '2026-04-02T10:00:00Z',
      type: 'revenue.recorded',
      revenue: { revenueId: id, amount: '99900', currency: 'USD', month: '2026-04' },
    });
    expect((await post(event('inv-1'))).json().outcome).toBe('applied');
    expect((await post(event('inv-1'))).json().outcome).toBe('duplicate');
    const rows = await db
      .selectFrom('deal_revenues')
      .selectAll()
      .where('tenant_id', '=', t.tenant.id)
      .execute();
    expect(rows.map((r) => [r.revenue_id, BigInt(r.amount), r.month])).toEqual([
      ['inv-1', 99_900n, '2026-04'],
    ]);
  });

  describe('POST /api/v1/deal-events/batch', () => {
    const batch = (events: object[], headers: Record<string, string> = {}) =>
      world.app.inject({
        method: 'POST',
        url: '/api/v1/deal-events/batch',
        headers: { ...t.as('admin'), ...headers },
        payload: { events },
      });
    /** A deal in the program (by default, the plan's) credited to the child partner, through the single endpoint. */
    const openDeal = async (crmDealId: string, programId = program.id) => {
      const res = await post({
        sourceEventId: `open-${crmDealId}`,
        crmDealId,
        occurredAt: '2026-03-01T10:00:00Z',
        type: 'deal.stage_changed',
        changes: { stage: { id: 'open', category: 'open' } },
        programId,
        attributions: [{ partnerId: child.id }],
      });
      expect(res.json().outcome).toBe('applied');
    };
    /** Deal events stored, all tenants: what "storing nothing" compares. */
    const dealEventCount = async () =>
      Number(
        (
          await db
            .selectFrom('deal_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    /** wonEvent without the single endpoint's deal set-up (programId, attributions). */
    const won = (crmDealId: string, amount: string, id = `b-${++seq}`) => {
      const { programId: _program, attributions: _attributions, ...event } = wonEvent(crmDealId, amount);
      return { ...event, sourceEventId: id };
    };

    it('records the events in order with one answer each: applied with its lines, duplicate, stale', async () => {
      await openDeal('batch-1');
      await openDeal('batch-2');
      const res = await batch([
        won('batch-1', '200000', 'b-won-1'),
        won('batch-2', '300000', 'b-won-2'),
        won('batch-1', '200000', 'b-won-1'),
        { ...won('batch-2', '1'), occurredAt: '2026-03-01T09:00:00Z' },
      ]);
      expect(res.statusCode).toBe(200);
      const results = res.json().results as { sourceEventId: string; outcome: string; lineIds: string[] }[];
      expect(results.map((r) => [r.sourceEventId, r.outcome, r.lineIds.length])).toEqual([
        ['b-won-1', 'applied', 2],
        ['b-won-2', 'applied', 2],
        ['b-won-1', 'duplicate', 0],
        [results[3]!.sourceEventId, 'stale', 0],
      ]);
      const lines = await db
        .selectFrom('commission_lines')
        .select(['id', 'partner_id', 'amount'])
        .where('id', 'in', [...results[0]!.lineIds, ...results[1]!.lineIds])
        .execute();
      expect(lines.map((l) => [l.partner_id, BigInt(l.amount)]).sort()).toEqual(
        [
          [child.id, 20_000n],
          [parent.id, 2_000n],
          [child.id, 30_000n],
          [parent.id, 3_000n],
        ].sort(),
      );
      const audit = await db
        .selectFrom('audit_log')
        .select('after')
        .where('tenant_id', '=', t.tenant.id)
        .where('action', '=', 'deal.event_recorded')
        .execute();
      const recorded = audit.map((a) => (a.after as { sourceEventId: string }).sourceEventId);
      expect(recorded).toContain('b-won-1');
      expect(recorded).toContain('b-won-2');
    });

    it('replays the first answer for the same Idempotency-Key; the same events again are duplicates', async () => {
      await openDeal('batch-3');
      const events = [won('batch-3', '100000')];
      const first = await batch(events, { 'idempotency-key': 'k-batch-3' });
      expect(first.json().results[0].outcome).toBe('applied');
      expect((await batch(events, { 'idempotency-key': 'k-batch-3' })).json()).toEqual(first.json());
      expect((await batch(events)).json().results[0].outcome).toBe('duplicate');
    });

    it('refuses a bad event, an empty or oversized batch, and a non-admin, storing nothing', async () => {
      await openDeal('batch-4');
      const before = await dealEventCount();
      const bad = await batch([won('batch-4', '100000'), won('batch-4', '10.5')]);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toContain('body.events.1.changes.amount.amount');
      expect((await batch([])).statusCode).toBe(400);
      expect(
        (await batch(Array.from({ length: 101 }, (_, i) => won('batch-4', '1', `many-${i}`)))).statusCode,
      ).toBe(400);
      const withProgram = await batch([{ ...won('batch-4', '1'), programId: program.id }]);
      expect(withProgram.statusCode).toBe(400);
      const manager = await world.app.inject({
        method: 'POST',
        url: '/api/v1/deal-events/batch',
        headers: t.as('program_manager'),
        payload: { events: [won('batch-4', '1')] },
      });
      expect(manager.statusCode).toBe(403);
      expect(await dealEventCount()).toBe(before);
    });

    it('names each event the engine refuses (a commission beyond 2^63 - 1), storing nothing of the batch', async () => {
      // A program paying 100,000,000 times the deal: 10^12 minor units owe 10^20, beyond 2^63 - 1.
      const absurd = await makeProgram(db, t.tenant.id);
      const plan = await world.app.inject({
        method: 'POST',
        url: `/api/v1/programs/${absurd.id}/commission-plans`,
        headers: t.as('admin'),
        payload: { name: 'Absurd', attach: true },
      });
      const rule = await world.app.inject({
        method: 'POST',
        url: `/api/v1/commission-plans/${plan.json().id}/rules`,
        headers: t.as('admin'),
        payload: {
          ruleKey: 'share',
          type: 'revenue_share',
          config: { rate: '100000000' },
          effectiveFrom: '2026-01-01T00:00:00Z',
          status: 'active',
        },
      });
      expect(rule.statusCode).toBe(201);
      await openDeal('batch-5');
      await openDeal('absurd-1', absurd.id);
      await openDeal('absurd-2', absurd.id);
      const before = await dealEventCount();
      const res = await batch([
        won('batch-5', '100000'),
        won('absurd-1', '1000000000000'),
        won('absurd-2', '1000'),
        // Its amount raised after the win, in the same batch: recorded after the others, alone.
        { ...won('absurd-2', '1000000000000'), occurredAt: '2026-03-02T11:00:00Z' },
      ]);
      expect(res.statusCode).toBe(400);
      const error = res.json().error;
      expect(error.code).toBe('validation_failed');
      expect(error.details.fields.map((f: { field: string }) => f.field)).toEqual([
        'body.events.1',
        'body.events.3',
      ]);
      expect(error.message).toMatch(
        /^Nothing was recorded: body\.events\.1 was refused: Invalid ledger transactions?: .*must fit a 64-bit integer of minor units.*; body\.events\.3 was refused: /,
      );
      expect(await dealEventCount()).toBe(before);
      // Without them, the same batch records.
      const ok = await batch([won('batch-5', '100000'), won('absurd-2', '1000')]);
      expect(ok.json().results.map((r: { outcome: string }) => r.outcome)).toEqual(['applied', 'applied']);
    });
  });
});
