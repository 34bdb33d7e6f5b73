import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admission,
  DAILY_LIMIT_PAUSE_MS,
  READING_TTL_MS,
} from '../../../src/crm/salesforce/salesforce-api-allowance.ts';
import { salesforceConnector } from '../../../src/crm/salesforce/salesforce-session.ts';
import { usingRedis } from '../../helpers/test-runtime.ts';
import type { LocalSalesforce } from '../../salesforce/local-salesforce.ts';
import { openSalesforceWorld, type SalesforceWorld } from './salesforce-world.ts';

describe('the daily API allowance by priority', () => {
  const now = 1_800_000_000_000;
  const reading = (used: number) => ({ usage: { used, max: 100_000, at: now - 1_000 }, pausedUntil: 0 });

  it('holds background calls above 90 %, writes above 97 %, never interactive ones', () => {
    expect(admission(reading(89_999), 'background', now)).toBeNull();
    expect(admission(reading(90_000), 'background', now)).toMatchObject({ kind: 'rate_limited' });
    expect(admission(reading(96_999), 'normal', now)).toBeNull();
    expect(admission(reading(97_000), 'normal', now)).toMatchObject({ kind: 'rate_limited' });
    expect(admission(reading(99_999), 'interactive', now)).toBeNull();
  });

  it('lets a call through once the reading is stale, so the next answer reads it again', () => {
    const stale = { usage: { used: 99_000, max: 100_000, at: now - READING_TTL_MS }, pausedUntil: 0 };
    expect(admission(stale, 'background', now)).toBeNull();
    const fresh = admission(reading(99_000), 'background', now);
    expect(fresh?.retryAfterMs).toBe(READING_TTL_MS - 1_000);
  });

  it('holds everything while the org is paused after REQUEST_LIMIT_EXCEEDED', () => {
    const paused = admission({ usage: null, pausedUntil: now + 5_000 }, 'interactive', now);
    expect(paused).toMatchObject({
      kind: 'rate_limited',
      code: 'REQUEST_LIMIT_EXCEEDED',
      retryAfterMs: 5_000,
    });
  });
});

describe(`Sforce-Limit-Info read per org and shared by every connector (${usingRedis ? 'Redis' : 'memory'})`, () => {
  let world: SalesforceWorld;
  beforeAll(async () => {
    world = await openSalesforceWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  const connector = (tenantId: string, priority: 'interactive' | 'normal' | 'background') =>
    salesforceConnector(world.runtime.db, world.runtime.services, tenantId, { priority });
  const dataCalls = (org: LocalSalesforce) =>
    org.stats().requests.filter((r) => r.path.startsWith('/services/data/')).length;

  it('background work stops above 90 % of the daily allowance while writes and interactive calls go on', async () => {
    const t = await world.connectTenant(await world.startOrg());
    t.org.setApiUsage(91_000, 100_000);
    // Any answer carries the usage; a fresh connector (another job, another process) knows it.
    expect((await connector(t.tenant.id, 'normal').listPipelines()).ok).toBe(true);
    const before = dataCalls(t.org);
    const held = await connector(t.tenant.id, 'background').listDealsModifiedSince(new Date(0), null);
    expect(held).toMatchObject({ ok: false, error: { kind: 'rate_limited', code: 'API_ALLOWANCE' } });
    expect(!held.ok && held.error.retryAfterMs).toBeGreaterThan(0);
    expect(dataCalls(t.org)).toBe(before);
    expect((await connector(t.tenant.id, 'normal').listPipelines()).ok).toBe(true);

    t.org.setApiUsage(97_500);
    expect((await connector(t.tenant.id, 'interactive').checkOpenDeals('globex.com', null)).ok).toBe(true);
    const write = await connector(t.tenant.id, 'normal').updateDealAttribution('006000000000001AAA', {
      registrationStatus: 'won',
    });
    expect(write).toMatchObject({ ok: false, error: { kind: 'rate_limited' } });
    expect((await connector(t.tenant.id, 'interactive').listPipelines()).ok).toBe(true);
  });

  it('REQUEST_LIMIT_EXCEEDED answers rate_limited with a wait, and the org is left alone until then', async () => {
    const t = await world.connectTenant(await world.startOrg());
    t.org.setApiUsage(100_000, 100_000);
    const refused = await connector(t.tenant.id, 'interactive').listPipelines();
    expect(refused).toMatchObject({
      ok: false,
      error: { kind: 'rate_limited', code: 'REQUEST_LIMIT_EXCEEDED', retryAfterMs: DAILY_LIMIT_PAUSE_MS },
    });
    const before = dataCalls(t.org);
    const next = await connector(t.tenant.id, 'interactive').getDeals(['006000000000001AAA']);
    expect(next).toMatchObject({
      ok: false,
      error: { kind: 'rate_limited', code: 'REQUEST_LIMIT_EXCEEDED' },
    });
    expect(!next.ok && next.error.retryAfterMs).toBeLessThanOrEqual(DAILY_LIMIT_PAUSE_MS);
    expect(dataCalls(t.org)).toBe(before);
  });

  it('a concurrency REQUEST_LIMIT_EXCEEDED pauses briefly, and the conflict check reports the CRM unavailable', async () => {
    const t = await world.connectTenant(await world.startOrg());
    t.org.failNext(
      { path: /\/query/ },
      {
        status: 403,
        body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'ConcurrentPerOrgLongTxn Limit exceeded.' }],
      },
    );
    const refused = await connector(t.tenant.id, 'interactive').listPipelines();
    expect(refused).toMatchObject({ ok: false, error: { kind: 'rate_limited', retryAfterMs: 30_000 } });
  });
});
