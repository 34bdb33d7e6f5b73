import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillDeals, reconcileDealsSince } from '../../../src/crm/crm-reconcile.ts';
import { reconcileTenantDealsJob } from '../../../src/crm/reconcile-tenant-deals.job.ts';
import { type ConnectedWorld, openConnectedWorld } from './connected-world.ts';

let world: ConnectedWorld;

beforeAll(async () => {
  world = await openConnectedWorld();
});
afterAll(async () => {
  await world?.close();
});

const STAGES = ['appointmentscheduled', 'qualifiedtobuy', 'contractsent', 'closedwon', 'closedlost'];

async function dealsOf(tenantId: string) {
  return world.runtime.db.selectFrom('deals').selectAll().where('tenant_id', '=', tenantId).execute();
}

describe('deal reconciliation and backfill', () => {
  it('backfills 10,000 deals under the enforced rate limit with zero 429s', async () => {
    const t = await world.connectTenant();
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 10_000; i++) {
      world.hubspot.state.seed(
        t.portalId,
        'deals',
        {
          dealname: `Deal ${i}`,
          pipeline: 'default',
          dealstage: STAGES[i % STAGES.length]!,
          amount: `${1000 + i}.50`,
          closedate: '2026-12-31T00:00:00.000Z',
        },
        new Date(base + i * 1000),
      );
    }
    const started = Date.now();
    const progress: number[] = [];
    const result = await backfillDeals(world.runtime.db, world.runtime.services, t.tenant.id, ({ done }) =>
      progress.push(done),
    );
    const seconds = (Date.now() - started) / 1000;
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    console.log(
      `backfill of 10,000 deals: ${seconds.toFixed(1)} s, ${result.value.calls} HubSpot calls, ` +
        `${world.hubspot.state.metrics.rateLimited} 429s from the local HubSpot`,
    );
    expect(result.value.deals).toBe(10_000);
    expect(result.value.rateLimited).toBe(0);
    expect(world.hubspot.state.metrics.rateLimited).toBe(0);
    expect(progress.at(-1)).toBe(10_000);

    const deals = await dealsOf(t.tenant.id);
    expect(deals).toHaveLength(10_000);
    const sample = deals.find((d) => d.name === 'Deal 3')!;
    expect(sample).toMatchObject({
      source: 'hubspot',
      stage: 'closedwon',
      stage_category: 'won',
      amount: 100350n,
      currency: 'USD',
      close_date: '2026-12-31',
    });
    expect(deals.filter((d) => d.stage_category === 'lost')).toHaveLength(2_000);

    // A second run reads the same deals again and records nothing new.
    const again = await backfillDeals(world.runtime.db, world.runtime.services, t.tenant.id);
    expect(again.ok && again.value.outcomes).toEqual({ duplicate: 10_000 });
  }, 1_200_000);

  it('reconciles what webhooks missed: deals modified since the cursor, through search', async () => {
    const t = await world.connectTenant();
    const { state } = world.hubspot;
    const old = state.seed(
      t.portalId,
      'deals',
      { dealname: 'Old', dealstage: 'qualifiedtobuy', pipeline: 'default' },
      new Date('2026-01-01T00:00:00Z'),
    );
    const recent = state.seed(t.portalId, 'deals', {
      dealname: 'Recent',
      dealstage: 'qualifiedtobuy',
      pipeline: 'default',
      amount: '10',
    });
    state.userUpdate(t.portalId, 'deals', recent.id, { dealstage: 'closedwon' });

    const now = world.runtime.services.clock.now();
    await reconcileTenantDealsJob.handle(
      { tenantId: t.tenant.id, slot: 'first' },
      {
        db: world.runtime.db,
        log: world.runtime.logger,
        jobId: 'x',
        attempt: 1,
        services: world.runtime.services,
      },
    );
    const deals = await dealsOf(t.tenant.id);
    expect(deals.map((d) => d.crm_deal_id)).toEqual([recent.id]);
    expect(deals[0]).toMatchObject({ stage: 'closedwon', stage_category: 'won', amount: 1000n });
    expect(old.id).not.toBe(recent.id);
    const cursor = await world.runtime.db
      .selectFrom('crm_sync_cursors')
      .selectAll()
      .where('tenant_id', '=', t.tenant.id)
      .executeTakeFirstOrThrow();
    expect(cursor.modified_since.getTime()).toBe(
      Date.parse(state.portal(t.portalId).objects.deals.get(recent.id)!.properties.hs_lastmodifieddate!),
    );
    expect(cursor.last_run_at!.getTime()).toBeGreaterThanOrEqual(now.getTime() - 1000);

    // Later changes are found from the cursor on; unchanged deals record nothing.
    state.userUpdate(t.portalId, 'deals', recent.id, { dealstage: 'closedlost' });
    const second = await reconcileDealsSince(
      world.runtime.db,
      world.runtime.services,
      t.tenant.id,
      cursor.modified_since,
    );
    expect(second.ok && second.value.outcomes).toEqual({ applied: 1 });
    const [after] = await dealsOf(t.tenant.id);
    expect(after).toMatchObject({ stage: 'closedlost', stage_category: 'lost' });
  });
});
