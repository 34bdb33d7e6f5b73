import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubspotCaller, retryAfter } from '../../../src/crm/hubspot/hubspot-client.ts';
import { HubspotConnector } from '../../../src/crm/hubspot/hubspot-connector.ts';
import {
  type HubspotRateLimiter,
  hubspotRateLimiter,
  InProcessRateLimiter,
  RedisRateLimiter,
} from '../../../src/crm/hubspot/hubspot-rate-limiter.ts';
import { getAccessToken } from '../../../src/crm/hubspot/hubspot-tokens.ts';
import { type ConnectedTenant, type ConnectedWorld, openConnectedWorld } from './connected-world.ts';

let world: ConnectedWorld;
const redisClients: Redis[] = [];

beforeAll(async () => {
  world = await openConnectedWorld();
});
afterAll(async () => {
  for (const client of redisClients) client.disconnect();
  await world?.close();
});

/** A second "process": its own limiter object (its own Redis connection when Redis is configured). */
function separateProcessLimiter(): HubspotRateLimiter {
  const { config } = world.runtime;
  if (!config.redisUrl) return new InProcessRateLimiter();
  const redis = new Redis(config.redisUrl);
  redisClients.push(redis);
  return new RedisRateLimiter(redis, config.redisPrefix);
}

function connectorWith(t: ConnectedTenant, limiter: () => Promise<HubspotRateLimiter>) {
  const { db, services } = world.runtime;
  return new HubspotConnector(
    db,
    t.tenant.id,
    new HubspotCaller({
      basePath: services.config.hubspotApiBase,
      access: () => getAccessToken(db, services, t.tenant.id),
      limiter,
    }),
  );
}

describe('HubSpot rate limits', () => {
  it('spreads a burst over the ten-second window: no 429 reaches HubSpot, every call answers', async () => {
    const t = await world.connectTenant();
    const deal = world.hubspot.state.seed(t.portalId, 'deals', {
      dealname: 'x',
      dealstage: 'closedwon',
      pipeline: 'default',
    });
    const before = world.hubspot.state.metrics.rateLimited;
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 150 }, () => t.connector.getDeal(deal.id)));
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `150-call burst: ${seconds.toFixed(1)} s, ${world.hubspot.state.metrics.rateLimited - before} 429s`,
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(world.hubspot.state.metrics.rateLimited - before).toBe(0);
    expect(t.connector.caller.stats.rateLimited).toBe(0);
    // 100 calls fit in a window: the last 50 had to wait for it to roll.
    expect(seconds).toBeGreaterThan(9);
  }, 60_000);

  it("keeps two processes' calls for one portal within one budget (shared through Redis when configured)", async () => {
    const t = await world.connectTenant();
    const deal = world.hubspot.state.seed(t.portalId, 'deals', {
      dealname: 'x',
      dealstage: 'closedwon',
      pipeline: 'default',
    });
    // With Redis each "process" has its own connection to the one shared budget; without Redis the
    // embedded default is one process, so both share the process's limiter.
    const shared = world.runtime.config.redisUrl
      ? [separateProcessLimiter(), separateProcessLimiter()]
      : [await hubspotRateLimiter(world.runtime.config), await hubspotRateLimiter(world.runtime.config)];
    const a = connectorWith(t, async () => shared[0]!);
    const b = connectorWith(t, async () => shared[1]!);
    const before = world.hubspot.state.metrics.rateLimited;
    const results = await Promise.all([
      ...Array.from({ length: 70 }, () => a.getDeal(deal.id)),
      ...Array.from({ length: 70 }, () => b.getDeal(deal.id)),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(world.hubspot.state.metrics.rateLimited - before).toBe(0);
  }, 60_000);

  it('keeps CRM search within its own per-second limit', async () => {
    const t = await world.connectTenant();
    const before = world.hubspot.state.metrics.rateLimited;
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => t.connector.listDealsModifiedSince(new Date(0), null, 10)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(world.hubspot.state.metrics.rateLimited - before).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(2_000);
  }, 30_000);

  it('honours a 429 it could not prevent: pauses the portal for the interval HubSpot names, then succeeds', async () => {
    const t = await world.connectTenant();
    const deal = world.hubspot.state.seed(t.portalId, 'deals', {
      dealname: 'x',
      dealstage: 'closedwon',
      pipeline: 'default',
    });
    // Another integration (not us) spent the portal's window: HubSpot answers 429 until it rolls.
    const other = world.hubspot.state.issueToken(t.portalId);
    for (let i = 0; i < 110; i++) {
      await fetch(`${world.hubspot.url}/crm/v3/objects/deals/${deal.id}`, {
        headers: { authorization: `Bearer ${other}` },
      });
    }
    const started = Date.now();
    const result = await t.connector.getDeal(deal.id);
    expect(result.ok).toBe(true);
    expect(t.connector.caller.stats.rateLimited).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
  }, 40_000);

  it('reads the wait from Retry-After, else from the policy HubSpot names', () => {
    expect(retryAfter({ 'retry-after': '3' }, '')).toBe(3_000);
    expect(retryAfter({}, 'You have reached your secondly limit.')).toBe(1_000);
    expect(
      retryAfter(
        { 'x-hubspot-ratelimit-interval-milliseconds': '10000' },
        'You have reached your ten_secondly_rolling limit.',
      ),
    ).toBe(10_000);
  });
});
