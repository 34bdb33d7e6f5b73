import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { recordDealEvent } from '../../src/deals/deal-events.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { withLedgerRetry } from '../../src/ledger/post-transaction.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';
import { makeEngineWorld } from './engine-fixture.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const WORKERS = 8;

/** Runs the tasks with `WORKERS` of them in flight at once. */
async function pool(tasks: (() => Promise<unknown>)[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}

describe(`commission engine under concurrency (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('8 workers winning, losing and re-winning 48 deals of one partner chain: no deadlock, balances = Σ lines, ledger verifies', async () => {
    const w = await makeEngineWorld(db);
    await w.rule('revenue_share', { rate: '0.1' });
    await w.rule('override', { basis: 'commission', levels: ['0.1', '0.05'] });
    await w.rule('volume_tier', {
      period: 'month',
      measure: 'count',
      mode: 'retroactive',
      tiers: [
        { from: '0', rate: '0.01' },
        { from: '20', rate: '0.02' },
      ],
    });
    const lead = (await w.partner()).id;
    const agency = (await w.partner({ parentId: lead })).id;
    const delivery = (await w.partner({ parentId: agency })).id;
    const deals: string[] = [];
    for (let i = 0; i < 48; i++) deals.push(await w.deal([{ partnerId: delivery }]));
    const send = (crm: string, id: string, at: string, category: 'won' | 'lost', amount?: bigint) =>
      withLedgerRetry(
        db,
        (tx) =>
          recordDealEvent(tx, w.services, {
            tenantId: w.tenant.id,
            source: 'api',
            sourceEventId: id,
            crmDealId: crm,
            occurredAt: new Date(at),
            type: 'deal.stage_changed',
            changes: {
              stage: { id: category, category },
              ...(amount ? { amount: { amount, currency: 'USD' } } : {}),
            },
          }),
        { attempts: 20 },
      );
    const tasks: (() => Promise<unknown>)[] = [];
    deals.forEach((crm, i) => {
      const amount = BigInt(100_000 + i * 37);
      tasks.push(() =>
        send(crm, `${crm}-won`, `2026-03-${String(2 + (i % 20)).padStart(2, '0')}T10:00:00Z`, 'won', amount),
      );
      // Every third deal is lost later, every sixth won again (events may arrive in any order).
      if (i % 3 === 0) tasks.push(() => send(crm, `${crm}-lost`, '2026-03-25T10:00:00Z', 'lost'));
      if (i % 6 === 0) tasks.push(() => send(crm, `${crm}-rewon`, '2026-03-26T10:00:00Z', 'won'));
      // And a duplicate delivery of the first win.
      if (i % 4 === 0)
        tasks.push(() =>
          send(
            crm,
            `${crm}-won`,
            `2026-03-${String(2 + (i % 20)).padStart(2, '0')}T10:00:00Z`,
            'won',
            amount,
          ),
        );
    });
    await pool(tasks);

    const report = await verifyLedger(db, { tenantId: w.tenant.id });
    expect(report.ok).toBe(true);
    for (const p of [lead, agency, delivery]) {
      expect(await w.balance('partner_pending', p)).toBe(await w.owedTo(p));
    }
    // 40 deals end won (48 − 16 lost + 8 re-won): ≥ 20 in March, so the whole month is at 2 %.
    const won = await db
      .selectFrom('deals')
      .select(['amount'])
      .where('tenant_id', '=', w.tenant.id)
      .where('stage_category', '=', 'won')
      .execute();
    expect(won).toHaveLength(40);
    const tierLines = (await w.live(delivery)).filter((l) => l.rule_id && l.period_key === '2026-03');
    const tierTotal = tierLines.reduce((s, l) => s + BigInt(l.amount), 0n);
    const expected = won.reduce((s, d) => s + (BigInt(d.amount!) * 2n + 50n) / 100n, 0n);
    // Each deal's lines round on their own; the total is within half a unit per line of 2 %.
    expect(tierTotal - expected).toBeLessThanOrEqual(BigInt(tierLines.length));
    expect(expected - tierTotal).toBeLessThanOrEqual(BigInt(tierLines.length));
  });
});
