import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConnection, openTokens } from '../../../src/crm/crm-connection.repository.ts';
import { waitFor } from '../../helpers/wait-for.ts';
import { localOauth } from '../../hubspot/local-hubspot-oauth.ts';
import type { WebhookEvent } from '../../hubspot/local-hubspot-webhooks.ts';
import { type HubspotWorld, oauthMetrics, openHubspotWorld } from './hubspot-world.ts';

/**
 * Webhook processing runs inside the inbox transaction; a token that needs refreshing there is
 * refreshed on that transaction (no nested one), under the connection row's lock.
 */
describe('a HubSpot token that expires while webhooks are processed', () => {
  let world: HubspotWorld;
  beforeAll(async () => {
    world = await openHubspotWorld();
    await world.runtime.queue.startWorkers(world.runtime.registry.queues());
    world.runtime.relay.start();
  });
  afterAll(async () => {
    await world?.close();
  });

  const expireNow = (tenantId: string) =>
    world.runtime.db
      .updateTable('crm_connections')
      .set({ access_token_expires_at: sql<Date>`now() - interval '1 minute'` })
      .where('tenant_id', '=', tenantId)
      .execute();
  const storedTokens = async (tenantId: string) =>
    openTokens(
      world.runtime.services.secrets.tokenEncryptionKey,
      (await findConnection(world.runtime.db, tenantId))!,
    );
  /** New deals in HubSpot and their creation events: processing each needs a fetch, so a token. */
  const newDeals = (portalId: number, count: number): WebhookEvent[] =>
    Array.from({ length: count }, (_, i) => {
      const deal = world.hubspot.state.seed(portalId, 'deals', {
        dealname: `Deal ${i}`,
        pipeline: 'default',
        dealstage: 'appointmentscheduled',
        amount: '100',
      });
      return world.webhooks.event({
        portalId,
        objectId: Number(deal.id),
        subscriptionType: 'object.creation',
        changeFlag: 'NEW',
      });
    });
  const outcomes = (events: WebhookEvent[]) =>
    waitFor(
      'the events processed',
      async () => {
        const rows = await world.runtime.db
          .selectFrom('inbox')
          .select(['processed_at', 'outcome'])
          .where(
            'source_id',
            'in',
            events.map((e) => `${e.portalId}:${e.eventId}`),
          )
          .execute();
        return rows.length === events.length && rows.every((r) => r.processed_at)
          ? rows.map((r) => r.outcome)
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
  const mirrored = async (tenantId: string) =>
    Number(
      (
        await world.runtime.db
          .selectFrom('deals')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('refreshes once, inside the processing, and every event is applied', async () => {
    const portalId = 81001;
    const { tenantId } = await world.install(portalId);
    const old = await storedTokens(tenantId);
    await expireNow(tenantId);
    const before = oauthMetrics(world).refreshCalls;
    const events = newDeals(portalId, 12);
    // Four batches at once: several inbox jobs meet the expired token concurrently.
    await Promise.all([0, 3, 6, 9].map((i) => world.webhooks.send(events.slice(i, i + 3))));
    expect(await outcomes(events)).toEqual(events.map(() => 'applied'));
    expect(oauthMetrics(world).refreshCalls - before).toBe(1);
    const fresh = await storedTokens(tenantId);
    expect(fresh?.accessToken).not.toBe(old?.accessToken);
    expect(fresh!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
    expect(await mirrored(tenantId)).toBe(12);
  });

  it('a processing that fails after refreshing is retried and applied, the tenant still connected', async () => {
    const portalId = 81002;
    const { tenantId } = await world.install(portalId);
    await expireNow(tenantId);
    const before = oauthMetrics(world).refreshCalls;
    // The refresh succeeds, then HubSpot fails the deal fetch: the inbox transaction rolls back
    // with the new token in it. HubSpot's refresh tokens do not rotate, so the retry refreshes again.
    world.hubspot.state.failNext('GET', /^\/crm\/v3\/objects\/deals\/\d+/, 502);
    const events = newDeals(portalId, 1);
    await world.webhooks.send(events);
    expect(await outcomes(events)).toEqual(['applied']);
    expect(oauthMetrics(world).refreshCalls - before).toBeGreaterThanOrEqual(1);
    expect((await findConnection(world.runtime.db, tenantId))?.status).toBe('connected');
    expect(await mirrored(tenantId)).toBe(1);
  });

  it('a refresh refused with invalid_grant during processing disconnects the tenant and keeps the event', async () => {
    const portalId = 81003;
    const { tenantId } = await world.install(portalId);
    const refreshToken = (await storedTokens(tenantId))!.refreshToken;
    localOauth(world.hubspot.state).refreshTokens.delete(refreshToken);
    await expireNow(tenantId);
    const events = newDeals(portalId, 1);
    await world.webhooks.send(events);
    expect(await outcomes(events)).toEqual(['skipped: HubSpot not connected']);
    const tenant = await world.runtime.db
      .selectFrom('tenants')
      .select('status')
      .where('id', '=', tenantId)
      .executeTakeFirstOrThrow();
    expect(tenant.status).toBe('disconnected');
    expect(await mirrored(tenantId)).toBe(0);
  });
});
