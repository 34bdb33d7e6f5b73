import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillDeals, reconcileDealsSince } from '../../../src/crm/crm-reconcile.ts';
import { sleep } from '../../helpers/wait-for.ts';
import { type ConnectedWorld, openConnectedWorld } from './connected-world.ts';

let world: ConnectedWorld;

beforeAll(async () => {
  world = await openConnectedWorld();
});
afterAll(async () => {
  await world?.close();
});

const STAGES = ['appointmentscheduled', 'contractsent', 'closedwon', 'closedlost'];

/** The deal notifications (partner emails) published for a tenant: their types by CRM deal id. */
async function notifications(tenantId: string) {
  const rows = await world.runtime.db
    .selectFrom('outbox')
    .select('payload')
    .where('job_name', '=', 'events.deliver')
    .execute();
  return rows
    .map((r) => r.payload as { type: string; tenantId: string; data: { crmDealId?: string } })
    .filter((e) => e.tenantId === tenantId && e.type.startsWith('deal.'))
    .map((e) => `${e.type} ${e.data.crmDealId}`);
}

describe('backfill and reconciliation do not flood partners with old news', () => {
  it('a backfill records every deal, settles them, and publishes no deal notification', async () => {
    const t = await world.connectTenant();
    const base = Date.parse('2025-01-01T00:00:00Z');
    for (let i = 0; i < 40; i++) {
      world.hubspot.state.seed(
        t.portalId,
        'deals',
        { dealname: `Old ${i}`, pipeline: 'default', dealstage: STAGES[i % STAGES.length]!, amount: '500' },
        new Date(base + i * 60_000),
      );
    }
    const result = await backfillDeals(world.runtime.db, world.runtime.services, t.tenant.id);
    expect(result.ok && result.value.outcomes).toEqual({ applied: 40 });
    const won = await world.runtime.db
      .selectFrom('deals')
      .select('id')
      .where('tenant_id', '=', t.tenant.id)
      .where('stage_category', '=', 'won')
      .execute();
    expect(won).toHaveLength(10);
    expect(await notifications(t.tenant.id)).toEqual([]);
  });

  it('reconciliation tells partners of a missed change on a followed deal, not of deals it meets first', async () => {
    const t = await world.connectTenant();
    const followed = world.hubspot.state.seed(
      t.portalId,
      'deals',
      { dealname: 'Followed', pipeline: 'default', dealstage: 'appointmentscheduled', amount: '900' },
      new Date(Date.now() - 3_600_000),
    );
    const since = new Date(Date.now() - 7_200_000);
    expect((await backfillDeals(world.runtime.db, world.runtime.services, t.tenant.id)).ok).toBe(true);
    expect(await notifications(t.tenant.id)).toEqual([]);

    // Webhooks missed these: a stage change on the followed deal, and a deal new to us.
    await sleep(5);
    world.hubspot.state.userUpdate(t.portalId, 'deals', followed.id, { dealstage: 'closedwon' });
    const stranger = world.hubspot.state.seed(t.portalId, 'deals', {
      dealname: 'Stranger',
      pipeline: 'default',
      dealstage: 'closedwon',
      amount: '700',
    });
    const result = await reconcileDealsSince(world.runtime.db, world.runtime.services, t.tenant.id, since);
    expect(result.ok && result.value.outcomes).toMatchObject({ applied: 2 });
    const sent = await notifications(t.tenant.id);
    expect(sent.sort()).toEqual([`deal.stage_changed ${followed.id}`, `deal.won ${followed.id}`].sort());
    expect(sent.some((n) => n.endsWith(stranger.id))).toBe(false);
  });
});
