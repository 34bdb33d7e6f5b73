import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';
import { type EngineWorld, makeEngineWorld } from './engine-fixture.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

describe(`revenue share with overrides, through deal events (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;
  let w: EngineWorld;
  let lead: string;
  let agency: string;
  let delivery: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
    w = await makeEngineWorld(db);
    lead = (await w.partner()).id;
    agency = (await w.partner({ parentId: lead })).id;
    delivery = (await w.partner({ parentId: agency })).id;
    await w.rule('revenue_share', { rate: '0.1' }, { key: 'share' });
    await w.rule('override', { basis: 'commission', levels: ['0.1', '0.05'] }, { key: 'ovr' });
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('a won deal of 10,000.05 pays 1,000.00 (half-even of 1,000.005), 100.00 and 50.00 to the chain in one ledger transaction', async () => {
    const deal = await w.deal([{ partnerId: delivery }]);
    const result = await w.won(deal, '2026-03-02T10:00:00Z', 1_000_005n);
    expect(result.outcome).toBe('applied');
    const lines = (await w.live()).filter((l) => l.deal_id === result.deal!.id);
    expect(lines.map((l) => [l.partner_id, l.kind, BigInt(l.amount)])).toEqual([
      [delivery, 'commission', 100_000n],
      [agency, 'override', 10_000n],
      [lead, 'override', 5_000n],
    ]);
    expect(new Set(lines.map((l) => l.ledger_transaction_id)).size).toBe(1);
    expect(lines[1]!.source_line_id).toBe(lines[0]!.id);
    expect(lines[0]!.explanation).toMatchObject({ ancestors: [agency, lead] });
    expect(lines[0]!.cause_key).toBe(`deal:${result.deal!.id}:v1:rule:share:partner:${delivery}`);
    expect(await w.balance('partner_pending', delivery)).toBe(100_000n);
  });

  it('a duplicate event and an older event change nothing', async () => {
    const deal = await w.deal([{ partnerId: delivery }]);
    await w.won(deal, '2026-03-03T10:00:00Z', 200_000n, 'USD', 'won-dup');
    const before = (await w.lines()).length;
    expect((await w.won(deal, '2026-03-03T10:00:00Z', 200_000n, 'USD', 'won-dup')).outcome).toBe('duplicate');
    expect((await w.stage(deal, '2026-03-01T10:00:00Z', 'open')).outcome).toBe('stale');
    expect((await w.lines()).length).toBe(before);
  });

  it('won → lost reverses every leg exactly; won again ends where a single won would', async () => {
    const deal = await w.deal([{ partnerId: delivery }]);
    const won = await w.won(deal, '2026-03-04T10:00:00Z', 300_000n);
    const id = won.deal!.id;
    const mine = async () => (await w.live()).filter((l) => l.deal_id === id);
    expect((await mine()).map((l) => BigInt(l.amount))).toEqual([30_000n, 3_000n, 1_500n]);
    await w.stage(deal, '2026-03-05T10:00:00Z', 'lost');
    expect(await mine()).toEqual([]);
    const clawbacks = (await w.lines()).filter((l) => l.deal_id === id && l.kind === 'clawback');
    expect(clawbacks.map((l) => BigInt(l.amount)).sort()).toEqual([-30_000n, -3_000n, -1_500n].sort());
    await w.stage(deal, '2026-03-06T10:00:00Z', 'won');
    expect((await mine()).map((l) => BigInt(l.amount))).toEqual([30_000n, 3_000n, 1_500n]);
  });

  it('an amount drop from 3,000.00 to 2,000.00 reverses 300/30/15 and accrues 200/20/10', async () => {
    const deal = await w.deal([{ partnerId: delivery }]);
    const won = await w.won(deal, '2026-03-07T10:00:00Z', 300_000n);
    await w.amount(deal, '2026-03-08T10:00:00Z', 200_000n);
    const live = (await w.live()).filter((l) => l.deal_id === won.deal!.id);
    expect(live.map((l) => BigInt(l.amount))).toEqual([20_000n, 2_000n, 1_000n]);
    expect(live[0]!.cause_key).toContain(':v2:');
  });

  it('events in reverse order end in the same state as in order', async () => {
    const a = await w.deal([{ partnerId: delivery }]);
    const b = await w.deal([{ partnerId: delivery }]);
    const steps = (deal: string) => [
      () => w.won(deal, '2026-03-10T10:00:00Z', 100_000n, 'USD', `${deal}-1`),
      () => w.amount(deal, '2026-03-11T10:00:00Z', 150_000n, 'USD', `${deal}-2`),
      () => w.stage(deal, '2026-03-12T10:00:00Z', 'lost', `${deal}-3`),
      () => w.stage(deal, '2026-03-13T10:00:00Z', 'won', `${deal}-4`),
    ];
    for (const step of steps(a)) await step();
    for (const step of steps(b).reverse()) await step();
    const owed = async (crm: string) => {
      const row = await db
        .selectFrom('deals')
        .select('id')
        .where('crm_deal_id', '=', crm)
        .executeTakeFirstOrThrow();
      return (await w.live())
        .filter((l) => l.deal_id === row.id)
        .map((l) => [l.partner_id, BigInt(l.amount)]);
    };
    expect(await owed(b)).toEqual(await owed(a));
    expect(await owed(a)).toEqual([
      [delivery, 15_000n],
      [agency, 1_500n],
      [lead, 750n],
    ]);
  });

  it('a reparent after accrual changes nothing already posted', async () => {
    const other = (await w.partner()).id;
    const child = (await w.partner({ parentId: agency })).id;
    const deal = await w.deal([{ partnerId: child }]);
    const won = await w.won(deal, '2026-03-14T10:00:00Z', 100_000n);
    await db.updateTable('partners').set({ parent_id: other }).where('id', '=', child).execute();
    // A property change settles the deal again: the overrides stay with the chain recorded.
    await w.event(deal, '2026-03-15T10:00:00Z', { properties: { dealtype: 'new' } });
    const live = (await w.live()).filter((l) => l.deal_id === won.deal!.id);
    expect(live.map((l) => l.partner_id)).toEqual([child, agency, lead]);
  });

  it('the ledger verifies', async () => {
    const report = await verifyLedger(db);
    expect(report.ok).toBe(true);
  });
});
