import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConnection, openTokens } from '../../../src/crm/crm-connection.repository.ts';
import { salesforceConnection, salesforceConnector } from '../../../src/crm/salesforce/salesforce-session.ts';
import { usingPostgres } from '../../helpers/test-database.ts';
import { openSalesforceWorld, type SalesforceWorld } from './salesforce-world.ts';

describe(`Salesforce sessions: refresh on 401 once per org, rotation saved, revoked → disconnected (${usingPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let world: SalesforceWorld;
  beforeAll(async () => {
    world = await openSalesforceWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  const stored = async (tenantId: string) =>
    openTokens(
      world.runtime.services.secrets.tokenEncryptionKey,
      (await findConnection(world.runtime.db, tenantId))!,
    );
  const connectorFor = (tenantId: string) =>
    salesforceConnector(world.runtime.db, world.runtime.services, tenantId);

  it('uses the stored session as long as Salesforce accepts it, with the configured API version and call options', async () => {
    const t = await world.connectTenant();
    const before = t.org.stats().tokenRefreshes;
    const conn = await salesforceConnection(world.runtime.db, world.runtime.services, t.tenant.id);
    expect(conn.ok && conn.value.version).toBe('62.0');
    expect(conn.ok && conn.value.instanceUrl).toBe(t.org.url);
    const pipelines = await t.connector.listPipelines();
    expect(pipelines.ok && pipelines.value[0]?.stages.map((s) => s.id)).toContain('Closed Won');
    expect(t.org.stats().tokenRefreshes).toBe(before);
    const calls = t.org.stats().requests.filter((r) => r.path.startsWith('/services/data/v62.0/'));
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map((r) => r.callOptions))).toEqual(new Set(['client=partnerloop']));
  });

  it('10 connections refused at once (as 10 processes would be) make exactly one refresh, and the rotated pair is stored', async () => {
    const org = await world.startOrg();
    const t = await world.connectTenant(org);
    const old = await stored(t.tenant.id);
    org.expireAccessTokens();
    const before = org.stats().tokenRefreshes;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => connectorFor(t.tenant.id).listPipelines()),
    );
    expect(results.map((r) => r.ok)).toEqual(Array(10).fill(true));
    expect(org.stats().tokenRefreshes - before).toBe(1);
    const now = await stored(t.tenant.id);
    expect(now?.accessToken).not.toBe(old?.accessToken);
    expect(now?.refreshToken).not.toBe(old?.refreshToken);
    // Rotation: the old refresh token is spent at Salesforce, the stored one is the live one.
    expect(org.state.refreshTokens.has(old!.refreshToken)).toBe(false);
    expect(org.state.refreshTokens.has(now!.refreshToken)).toBe(true);
    expect(org.state.accessTokens.has(now!.accessToken)).toBe(true);
  });

  it('one connection with 10 calls in flight refreshes once, and the next expiry refreshes with the rotated token', async () => {
    const org = await world.startOrg();
    const t = await world.connectTenant(org);
    org.expireAccessTokens();
    const before = org.stats().tokenRefreshes;
    const connector = connectorFor(t.tenant.id);
    const results = await Promise.all(Array.from({ length: 10 }, () => connector.listPipelines()));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(org.stats().tokenRefreshes - before).toBe(1);
    org.expireAccessTokens();
    expect((await connectorFor(t.tenant.id).listPipelines()).ok).toBe(true);
    expect(org.stats().tokenRefreshes - before).toBe(2);
  });

  it('a revoked refresh token disconnects the tenant, tells its admins once, and later calls do not ask Salesforce', async () => {
    const org = await world.startOrg();
    const t = await world.connectTenant(org);
    org.revokeAll();
    const refused = await connectorFor(t.tenant.id).listPipelines();
    expect(refused).toMatchObject({ ok: false, error: { kind: 'auth', code: 'invalid_grant' } });

    const db = world.runtime.db;
    const tenant = await db
      .selectFrom('tenants')
      .select('status')
      .where('id', '=', t.tenant.id)
      .executeTakeFirstOrThrow();
    expect(tenant.status).toBe('disconnected');
    expect(await findConnection(db, t.tenant.id)).toMatchObject({
      status: 'disconnected',
      disconnect_reason: 'refresh_refused',
    });
    const audit = await db
      .selectFrom('audit_log')
      .select(['source'])
      .where('tenant_id', '=', t.tenant.id)
      .where('action', '=', 'tenant.disconnected')
      .execute();
    expect(audit).toEqual([{ source: 'salesforce.tokens' }]);
    const events = await db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    const announced = events
      .map((e) => e.payload as { type: string; tenantId: string; data: { crm: string; reason: string } })
      .filter((e) => e.type === 'tenant.disconnected' && e.tenantId === t.tenant.id);
    expect(announced).toHaveLength(1);
    expect(announced[0]?.data).toMatchObject({ crm: 'salesforce', reason: 'refresh_refused' });

    const refreshes = org.stats().tokenRefreshes;
    const again = await connectorFor(t.tenant.id).listPipelines();
    expect(again).toMatchObject({ ok: false, error: { kind: 'not_connected' } });
    expect(org.stats().tokenRefreshes).toBe(refreshes);
  });
});
