import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveLines } from '../../src/commissions/approve-lines.ts';
import { addFxRate } from '../../src/commissions/commission-plan.repository.ts';
import type { Db } from '../../src/db/database.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { makeTier } from '../factories/partner.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';
import { makeEngineWorld } from './engine-fixture.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

describe(`rule types, conditions, versions (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    expect((await verifyLedger(db)).ok).toBe(true);
    await database.destroy();
  });

  it('a flat fee of 250.00 per won deal, split 10:5 between agency and delivery partner: 166.67 + 83.33', async () => {
    const w = await makeEngineWorld(db);
    await w.rule('flat_fee', { amount: '25000', on: 'deal_won' });
    const agency = (await w.partner()).id;
    const delivery = (await w.partner()).id;
    await w.won(
      await w.deal([
        { partnerId: agency, splitWeight: 10 },
        { partnerId: delivery, splitWeight: 5 },
      ]),
      '2026-03-02T10:00:00Z',
      1_000_000n,
    );
    expect(await w.owedTo(agency)).toBe(16_667n);
    expect(await w.owedTo(delivery)).toBe(8_333n);
  });

  it('a revenue share of 15 % of 1,000.01 split three ways: 150.0015 → 150.00 → 50 + 50 + 50; of 1,000.07 → 150.01 → 50.01 + 50 + 50 (tie to the first)', async () => {
    const w = await makeEngineWorld(db);
    await w.rule('revenue_share', { rate: '0.15' });
    const ps = [(await w.partner()).id, (await w.partner()).id, (await w.partner()).id];
    const deal = await w.deal(ps.map((partnerId) => ({ partnerId })));
    await w.won(deal, '2026-03-02T10:00:00Z', 100_001n);
    expect(await Promise.all(ps.map((p) => w.owedTo(p)))).toEqual([5_000n, 5_000n, 5_000n]);
    await w.amount(deal, '2026-03-03T10:00:00Z', 100_007n);
    expect(await Promise.all(ps.map((p) => w.owedTo(p)))).toEqual([5_001n, 5_000n, 5_000n]);
  });

  it('a retainer rule pays only its success fee (2,000.00) on a won deal; the monthly part is the scheduler’s', async () => {
    const w = await makeEngineWorld(db);
    await w.rule('retainer', { monthlyAmount: '150000', successFee: '200000' });
    const p = (await w.partner()).id;
    await w.won(await w.deal([{ partnerId: p }]), '2026-03-02T10:00:00Z', 5_000_000n);
    expect(await w.owedTo(p)).toBe(200_000n);
  });

  it('conditions narrow a rule: partner kind, tier, pipeline, amount range (inclusive) and a CRM property', async () => {
    const w = await makeEngineWorld(db);
    const gold = await makeTier(db, w.tenant.id, 'Gold', 3);
    await w.rule(
      'flat_fee',
      { amount: '1000', on: 'deal_won' },
      { key: 'kind', conditions: { partnerKinds: ['delivery'] } },
    );
    await w.rule(
      'flat_fee',
      { amount: '2000', on: 'deal_won' },
      { key: 'tier', conditions: { tierIds: [gold.id] } },
    );
    await w.rule(
      'flat_fee',
      { amount: '4000', on: 'deal_won' },
      { key: 'pipe', conditions: { pipelines: ['enterprise'] } },
    );
    await w.rule(
      'flat_fee',
      { amount: '8000', on: 'deal_won' },
      { key: 'range', conditions: { minAmount: '100000', maxAmount: '200000' } },
    );
    await w.rule(
      'flat_fee',
      { amount: '16000', on: 'deal_won' },
      { key: 'prop', conditions: { property: { name: 'dealtype', values: ['newbusiness'] } } },
    );
    const plain = (await w.partner({ kind: 'referral' })).id;
    const delivery = (await w.partner({ kind: 'delivery' })).id;
    const golden = (await w.partner({ tierId: gold.id })).id;
    const fire = async (partnerId: string, amount: bigint, extra: Record<string, unknown> = {}) => {
      const deal = await w.deal([{ partnerId }]);
      await w.event(deal, '2026-03-01T09:00:00Z', extra as never);
      await w.won(deal, '2026-03-02T10:00:00Z', amount);
    };
    await fire(plain, 99_999n); // nothing applies
    expect(await w.owedTo(plain)).toBe(0n);
    await fire(delivery, 100_000n); // kind + range (lower bound inclusive)
    expect(await w.owedTo(delivery)).toBe(1_000n + 8_000n);
    await fire(golden, 200_001n, { pipeline: 'enterprise', properties: { dealtype: 'newbusiness' } });
    expect(await w.owedTo(golden)).toBe(2_000n + 4_000n + 16_000n);
  });

  it('a rule version applies from its effective date: 10 % until 1 April, 12 % from then, by the won date', async () => {
    const w = await makeEngineWorld(db);
    await w.rule('revenue_share', { rate: '0.1' }, { key: 'share', from: new Date('2026-01-01T00:00:00Z') });
    await w.rule('revenue_share', { rate: '0.12' }, { key: 'share', from: new Date('2026-04-01T00:00:00Z') });
    const p = (await w.partner()).id;
    const q = (await w.partner()).id;
    await w.won(await w.deal([{ partnerId: p }]), '2026-03-31T23:59:59Z', 100_000n);
    await w.won(await w.deal([{ partnerId: q }]), '2026-04-01T00:00:00Z', 100_000n);
    expect(await w.owedTo(p)).toBe(10_000n);
    expect(await w.owedTo(q)).toBe(12_000n);
    const [line] = await w.live(q);
    expect(line!.rule_version).toBe(2);
  });

  it('a draft rule pays nothing', async () => {
    const w = await makeEngineWorld(db);
    await w.rule('revenue_share', { rate: '0.5' }, { status: 'draft' });
    const p = (await w.partner()).id;
    await w.won(await w.deal([{ partnerId: p }]), '2026-03-02T10:00:00Z', 100_000n);
    expect(await w.owedTo(p)).toBe(0n);
  });

  it('a EUR deal in a USD program records the rate (1.0835) and a clawback reverses at it, even after the rate changes', async () => {
    const w = await makeEngineWorld(db, { currency: 'USD' });
    await w.rule('revenue_share', { rate: '0.1' });
    await addFxRate(db, {
      tenantId: w.tenant.id,
      from: 'EUR',
      to: 'USD',
      rate: '1.0835',
      effectiveOn: '2026-03-01',
    });
    const p = (await w.partner()).id;
    const deal = await w.deal([{ partnerId: p }]);
    await w.won(deal, '2026-03-02T10:00:00Z', 1_000_000n, 'EUR'); // 10 % of EUR 10,000.00 × 1.0835 = USD 1,083.50
    const [line] = await w.live(p);
    expect([BigInt(line!.amount), line!.currency, line!.fx_rate, line!.basis_currency]).toEqual([
      108_350n,
      'USD',
      '1.0835',
      'EUR',
    ]);
    await addFxRate(db, {
      tenantId: w.tenant.id,
      from: 'EUR',
      to: 'USD',
      rate: '1.2',
      effectiveOn: '2026-03-01',
    });
    // An unrelated change settles again: the posted line keeps its recorded rate.
    await w.event(deal, '2026-03-03T10:00:00Z', { name: 'Renamed' });
    expect((await w.live(p)).map((l) => l.fx_rate)).toEqual(['1.0835']);
    await w.stage(deal, '2026-03-04T10:00:00Z', 'lost');
    const clawback = (await w.lines()).find((l) => l.kind === 'clawback' && l.partner_id === p)!;
    expect([BigInt(clawback.amount), clawback.fx_rate]).toEqual([-108_350n, '1.0835']);
  });

  it('a deal with no exchange rate posts nothing and says why', async () => {
    const w = await makeEngineWorld(db, { currency: 'USD' });
    await w.rule('revenue_share', { rate: '0.1' });
    const p = (await w.partner()).id;
    await w.won(await w.deal([{ partnerId: p }]), '2026-03-02T10:00:00Z', 1_000_000n, 'GBP');
    expect(await w.owedTo(p)).toBe(0n);
    const event = await db
      .selectFrom('deal_events')
      .select('outcome')
      .where('tenant_id', '=', w.tenant.id)
      .orderBy('received_at', 'desc')
      .executeTakeFirstOrThrow();
    expect(event.outcome).toContain('no exchange rate GBP → USD');
  });

  it('a clawback of approved split and override legs is taken from payable (which may go negative); pending legs cancel within pending', async () => {
    const w = await makeEngineWorld(db, { holdDays: 0 });
    await w.rule('revenue_share', { rate: '0.1' });
    await w.rule('override', { basis: 'commission', levels: ['0.2'] });
    const lead = (await w.partner()).id;
    const a = (await w.partner({ parentId: lead })).id;
    const b = (await w.partner()).id;
    const deal = await w.deal([
      { partnerId: a, splitWeight: 2 },
      { partnerId: b, splitWeight: 1 },
    ]);
    await w.won(deal, '2026-03-02T10:00:00Z', 300_001n); // 30,000.1 → 30,000 → a 20,000, b 10,000; lead 4,000
    const legs = await w.live();
    expect(legs.map((l) => [l.partner_id, BigInt(l.amount)])).toEqual(
      expect.arrayContaining([
        [a, 20_000n],
        [b, 10_000n],
        [lead, 4_000n],
      ]),
    );
    // Approve a's and lead's legs; b's stays pending.
    const approve = legs.filter((l) => l.partner_id !== b).map((l) => l.id);
    await db.transaction().execute((tx) =>
      approveLines(tx, {
        tenantId: w.tenant.id,
        selection: { lineIds: approve },
        now: new Date('2026-03-03T00:00:00Z'),
        approvedBy: 'test',
        audit: { tenantId: w.tenant.id, actorType: 'system', actorId: null, source: 'test' },
      }),
    );
    expect(await w.balance('partner_payable', a)).toBe(20_000n);
    await w.stage(deal, '2026-03-05T10:00:00Z', 'lost');
    expect(await w.balance('partner_payable', a)).toBe(0n);
    expect(await w.balance('partner_payable', lead)).toBe(0n);
    expect(await w.balance('partner_pending', b)).toBe(0n);
    const clawbacks = (await w.lines()).filter((l) => l.kind === 'clawback');
    expect(clawbacks.map((l) => [l.partner_id, l.status]).sort()).toEqual(
      [
        [a, 'approved'],
        [b, 'cancelled'],
        [lead, 'approved'],
      ].sort(),
    );
  });

  it('an override of the deal (basis deal, 2 % and 1 % over two levels) is a share of the deal, not of the commission', async () => {
    const w = await makeEngineWorld(db);
    await w.rule('revenue_share', { rate: '0.1' });
    await w.rule('override', { basis: 'deal', levels: ['0.02', '0.01'] });
    const top = (await w.partner()).id;
    const mid = (await w.partner({ parentId: top })).id;
    const leaf = (await w.partner({ parentId: mid })).id;
    await w.won(await w.deal([{ partnerId: leaf }]), '2026-03-02T10:00:00Z', 1_234_567n);
    expect(await w.owedTo(leaf)).toBe(123_457n); // 123,456.7 → 123,457
    expect(await w.owedTo(mid)).toBe(24_691n); // 2 % of 1,234,567 = 24,691.34
    expect(await w.owedTo(top)).toBe(12_346n); // 1 % = 12,345.67
  });
});
