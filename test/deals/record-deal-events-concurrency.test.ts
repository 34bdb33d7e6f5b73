import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import type { NormalizedDealEvent } from '../../src/deals/deal-event.ts';
import { recordDealEvents } from '../../src/deals/record-deal-events.ts';
import { makeEngineWorld } from '../commissions/engine-fixture.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

// Two batches naming the same deals nobody has recorded yet, in opposite orders, each in its own
// transaction at the same time (two CRM syncs, or a reconcile page beside a webhook batch). Creating
// the deals as the events come would have each batch hold the first deals it created while waiting
// for the ones the other created: a deadlock, which PostgreSQL breaks after deadlock_timeout by failing
// one batch. Both must commit on their first attempt. (On PGlite transactions run one at a time.)

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const DEALS = 12;
const ROUNDS = 3;

describe(`recordDealEvents: concurrent batches creating the same deals (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('both batches commit without a deadlock, each deal created once with both its events', async () => {
    const w = await makeEngineWorld(db);
    for (let round = 0; round < ROUNDS; round++) {
      const crmIds = Array.from({ length: DEALS }, (_, n) => `new-${round}-${n}`);
      const batch = (label: string, order: string[], minutes: number): NormalizedDealEvent[] =>
        order.map((crmDealId) => ({
          tenantId: w.tenant.id,
          source: 'api',
          sourceEventId: `${label}-${crmDealId}`,
          crmDealId,
          occurredAt: new Date(Date.parse('2026-03-02T09:00:00Z') + minutes * 60_000),
          type: 'deal.amount_changed',
          changes: { amount: { amount: BigInt(1_000 * minutes), currency: 'USD' } },
        }));
      const run = (events: NormalizedDealEvent[]) =>
        db.transaction().execute((tx) => recordDealEvents(tx, w.services, events));
      const settled = await Promise.allSettled([
        run(batch('a', crmIds, 1)),
        run(batch('b', [...crmIds].reverse(), 2)),
      ]);
      const failures = settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
      expect(failures, `round ${round}`).toEqual([]);
      // Whichever committed second finds the other's amount: b's (later) applies, a's is stale.
      for (const s of settled)
        if (s.status === 'fulfilled')
          for (const r of s.value) expect(['applied', 'stale']).toContain(r.outcome);

      const deals = await db
        .selectFrom('deals')
        .select(['id', 'crm_deal_id', 'amount'])
        .where('tenant_id', '=', w.tenant.id)
        .where('crm_deal_id', 'in', crmIds)
        .execute();
      expect(deals.map((d) => d.crm_deal_id).sort()).toEqual([...crmIds].sort());
      // The later amount (b's, two minutes) wins whichever batch committed first.
      for (const deal of deals) expect(BigInt(deal.amount!)).toBe(2_000n);
      const events = await db
        .selectFrom('deal_events')
        .select(['deal_id', 'source_event_id'])
        .where('tenant_id', '=', w.tenant.id)
        .where(
          'deal_id',
          'in',
          deals.map((d) => d.id),
        )
        .execute();
      expect(events).toHaveLength(2 * DEALS);
    }
  });
});
