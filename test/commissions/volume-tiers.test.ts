import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';
import { type EngineWorld, makeEngineWorld } from './engine-fixture.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

/** Revenue tiers: 5 % below 10,000.00, 10 % from 10,000.00 (1,000,000 minor units). */
const revenueTiers = (mode: 'retroactive' | 'marginal' | 'forward') => ({
  period: 'month' as const,
  measure: 'revenue' as const,
  mode,
  tiers: [
    { from: '0', rate: '0.05' },
    { from: '1000000', rate: '0.1' },
  ],
});

describe(`volume tiers (${mode})`, () => {
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

  async function world(config: object, timeZone = 'UTC'): Promise<EngineWorld> {
    const w = await makeEngineWorld(db, { timeZone });
    await w.rule('volume_tier', config as never, { key: 'tiers' });
    return w;
  }

  it.each([
    // [deal amount, commission]: one minor unit below, exactly at, one above the 10,000.00 threshold
    [999_999n, 50_000n], // 5 % of 9,999.99 = 499.9995 → 500.00
    [1_000_000n, 100_000n], // 10 % of 10,000.00
    [1_000_001n, 100_000n], // 10 % of 10,000.01 = 1,000.001 → 1,000.00
  ])('retroactive by revenue: one deal of %s pays %s', async (amount, expected) => {
    const w = await world(revenueTiers('retroactive'));
    const p = (await w.partner()).id;
    await w.won(await w.deal([{ partnerId: p }]), '2026-03-10T10:00:00Z', amount);
    expect(await w.owedTo(p)).toBe(expected);
  });

  it.each([
    [999_999n, 50_000n], // all in the 5 % band
    [1_000_000n, 50_000n], // 5 % of 10,000.00; nothing in the 10 % band
    [1_000_010n, 50_001n], // 500.00 + 10 % of 0.10 = 500.01
  ])('marginal by revenue: one deal of %s pays %s', async (amount, expected) => {
    const w = await world(revenueTiers('marginal'));
    const p = (await w.partner()).id;
    await w.won(await w.deal([{ partnerId: p }]), '2026-03-10T10:00:00Z', amount);
    expect(await w.owedTo(p)).toBe(expected);
  });

  it('retroactive by count (5 % below 3 deals, 10 % from 3): the third deal lifts the first two by a tier_adjustment each', async () => {
    const w = await world({
      period: 'month',
      measure: 'count',
      mode: 'retroactive',
      tiers: [
        { from: '0', rate: '0.05' },
        { from: '3', rate: '0.1' },
      ],
    });
    const p = (await w.partner()).id;
    const deals = [
      await w.deal([{ partnerId: p }]),
      await w.deal([{ partnerId: p }]),
      await w.deal([{ partnerId: p }]),
    ];
    await w.won(deals[0]!, '2026-03-01T10:00:00Z', 100_000n);
    await w.won(deals[1]!, '2026-03-02T10:00:00Z', 100_000n);
    expect(await w.owedTo(p)).toBe(10_000n); // 2 × 5 % of 1,000.00
    await w.won(deals[2]!, '2026-03-03T10:00:00Z', 100_000n);
    const live = await w.live(p);
    expect(await w.owedTo(p)).toBe(30_000n); // 3 × 10 %
    const adjustments = live.filter((l) => l.kind === 'tier_adjustment');
    expect(adjustments.map((l) => BigInt(l.amount))).toEqual([5_000n, 5_000n]);
    expect(adjustments.every((l) => l.period_key === '2026-03')).toBe(true);
    // The third deal lost: the period falls back to 5 %, the adjustments are reversed.
    await w.stage(deals[2]!, '2026-03-04T10:00:00Z', 'lost');
    expect(await w.owedTo(p)).toBe(10_000n);
    expect((await w.live(p)).filter((l) => l.kind === 'tier_adjustment')).toEqual([]);
  });

  it('forward by count: deals after the threshold earn the new rate, earlier ones keep theirs', async () => {
    const w = await world({
      period: 'month',
      measure: 'count',
      mode: 'forward',
      tiers: [
        { from: '0', rate: '0.05' },
        { from: '2', rate: '0.1' },
      ],
    });
    const p = (await w.partner()).id;
    const a = await w.deal([{ partnerId: p }]);
    const b = await w.deal([{ partnerId: p }]);
    await w.won(a, '2026-03-01T10:00:00Z', 100_000n);
    await w.won(b, '2026-03-02T10:00:00Z', 100_000n);
    expect((await w.live(p)).map((l) => BigInt(l.amount))).toEqual([5_000n, 10_000n]);
  });

  it('periods are calendar months in the tenant time zone: 31 March 23:30 UTC is April in Berlin', async () => {
    const w = await world(
      {
        period: 'month',
        measure: 'count',
        mode: 'retroactive',
        tiers: [
          { from: '0', rate: '0.05' },
          { from: '2', rate: '0.1' },
        ],
      },
      'Europe/Berlin',
    );
    const p = (await w.partner()).id;
    await w.won(await w.deal([{ partnerId: p }]), '2026-03-31T21:59:59Z', 100_000n); // 23:59:59 local, March
    await w.won(await w.deal([{ partnerId: p }]), '2026-03-31T22:00:00Z', 100_000n); // 00:00 local, April
    const live = await w.live(p);
    expect(live.map((l) => l.period_key).sort()).toEqual(['2026-03', '2026-04']);
    expect(await w.owedTo(p)).toBe(10_000n); // one deal per month: neither reaches 2
  });

  it('out-of-order wins in one period end where in-order wins would', async () => {
    const config = {
      period: 'quarter',
      measure: 'revenue',
      mode: 'retroactive',
      tiers: [
        { from: '0', rate: '0.05' },
        { from: '150000', rate: '0.08' },
      ],
    };
    const w1 = await world(config);
    const w2 = await world(config);
    const run = async (w: EngineWorld, order: number[]) => {
      const p = (await w.partner()).id;
      const deals = [
        await w.deal([{ partnerId: p }]),
        await w.deal([{ partnerId: p }]),
        await w.deal([{ partnerId: p }]),
      ];
      const amounts = [50_001n, 70_003n, 40_005n];
      for (const i of order) await w.won(deals[i]!, `2026-0${i + 1}-15T10:00:00Z`, amounts[i]!);
      return w.owedTo(p);
    };
    const inOrder = await run(w1, [0, 1, 2]);
    const reversed = await run(w2, [2, 1, 0]);
    expect(reversed).toBe(inOrder);
    // 160,009 ≥ 150,000: 8 % of each, rounded per line: 4,000.08 + 5,600.24 + 3,200.4 → 4000 + 5600 + 3200
    expect(inOrder).toBe(4_000n + 5_600n + 3_200n);
  });
});
