import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import type { NormalizedDealEvent } from '../../src/deals/deal-event.ts';
import { outcomeText, recordDealEventsIsolated } from '../../src/deals/record-deal-events-isolated.ts';
import { AppError } from '../../src/errors/app-error.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { makeEngineWorld } from '../commissions/engine-fixture.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

describe(`recordDealEventsIsolated: refused events do not hold back the batch (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('records every other event as a batch would and refuses only the two whose commission overflows', async () => {
    const w = await makeEngineWorld(db);
    // A rate of 100,000,000: 10,000 minor units owe 10^12; 10^12 owe 10^20, beyond 2^63 - 1.
    await w.rule('revenue_share', { rate: '100000000' });
    const partner = await w.partner();
    const crmIds: string[] = [];
    for (let n = 0; n < 10; n++) crmIds.push(await w.deal([{ partnerId: partner.id }], `iso-${n}`));
    const poisoned = new Set([3, 7]);
    const events: NormalizedDealEvent[] = crmIds.map((crmDealId, n) => ({
      tenantId: w.tenant.id,
      source: 'api',
      sourceEventId: `won-${n}`,
      crmDealId,
      occurredAt: new Date('2026-03-02T09:00:00Z'),
      type: 'deal.stage_changed',
      changes: {
        stage: { id: 'closedwon', category: 'won' },
        amount: { amount: poisoned.has(n) ? 1_000_000_000_000n : 10_000n + BigInt(n), currency: 'USD' },
      },
    }));
    const warned: unknown[] = [];
    const log = { warn: (context: unknown) => warned.push(context) };

    const results = await db
      .transaction()
      .execute((tx) => recordDealEventsIsolated(tx, w.services, events, { log } as never));

    expect(results.map((r) => r.outcome)).toEqual(
      crmIds.map((_, n) => (poisoned.has(n) ? 'refused' : 'applied')),
    );
    for (const n of poisoned) {
      const result = results[n]!;
      if (result.outcome !== 'refused') throw new Error('expected a refusal');
      expect(result.refusal).toBeInstanceOf(AppError);
      expect(result.refusal.code).toBe('validation_failed');
      expect(outcomeText(result)).toMatch(
        /^refused: Invalid ledger transactions?: .*must fit a 64-bit integer of minor units/,
      );
    }
    expect(warned).toEqual([
      expect.objectContaining({ sourceEventId: 'won-3' }),
      expect.objectContaining({ sourceEventId: 'won-7' }),
    ]);
    const lines = await w.lines();
    expect(lines.map((l) => l.amount).sort((a, b) => (a < b ? -1 : 1))).toEqual(
      crmIds.flatMap((_, n) => (poisoned.has(n) ? [] : [(10_000n + BigInt(n)) * 100_000_000n])),
    );
    const stored = await db
      .selectFrom('deal_events')
      .select('source_event_id')
      .where('tenant_id', '=', w.tenant.id)
      .orderBy('source_event_id')
      .execute();
    expect(stored.map((e) => e.source_event_id)).toEqual(
      crmIds.flatMap((_, n) => (poisoned.has(n) ? [] : [`won-${n}`])),
    );
    expect(await w.balance('partner_pending', partner.id)).toBe(lines.reduce((s, l) => s + l.amount, 0n));
    expect((await verifyLedger(db, { tenantId: w.tenant.id })).ok).toBe(true);
  });

  it('throws what is not a refusal: the caller retries the whole transaction', async () => {
    const w = await makeEngineWorld(db);
    const event = (tenantId: string, crmDealId: string): NormalizedDealEvent => ({
      tenantId,
      source: 'api',
      sourceEventId: `e-${crmDealId}`,
      crmDealId,
      occurredAt: new Date('2026-03-02T09:00:00Z'),
      type: 'deal.amount_changed',
      changes: { amount: { amount: 5n, currency: 'USD' } },
    });
    // A tenant id that is no uuid fails in the database (not an AppError): the transaction fails.
    const error = await db
      .transaction()
      .execute((tx) => recordDealEventsIsolated(tx, w.services, [event('not-a-uuid', 'x-1')]))
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(AppError);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain('uuid');
  });
});
