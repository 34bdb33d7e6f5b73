import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConnection, openTokens } from '../../../src/crm/crm-connection.repository.ts';
import { getAccessToken } from '../../../src/crm/hubspot/hubspot-tokens.ts';
import { configureLocalOauth, localOauth, uninstallPortal } from '../../hubspot/local-hubspot-oauth.ts';
import { type HubspotWorld, oauthMetrics, openHubspotWorld } from './hubspot-world.ts';

describe('HubSpot tokens: refresh ahead of expiry, once per portal, invalid_grant disconnects', () => {
  let world: HubspotWorld;
  beforeAll(async () => {
    world = await openHubspotWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  /** Moves the stored access token to expire in `ms` (the refresh threshold is 5 minutes). */
  const expireIn = (tenantId: string, ms: number) =>
    world.runtime.db
      .updateTable('crm_connections')
      .set({ access_token_expires_at: sql<Date>`now() + ${`${ms} milliseconds`}::interval` })
      .where('tenant_id', '=', tenantId)
      .execute();
  const storedTokens = async (tenantId: string) =>
    openTokens(
      world.runtime.services.secrets.tokenEncryptionKey,
      (await findConnection(world.runtime.db, tenantId))!,
    );

  it('uses the stored token while it has more than five minutes left, without calling HubSpot', async () => {
    const { tenantId } = await world.install(80001);
    const before = oauthMetrics(world).refreshCalls;
    const access = await getAccessToken(world.runtime.db, world.runtime.services, tenantId);
    expect(access.ok && access.value.portalId).toBe('80001');
    expect(access.ok && access.value.accessToken).toBe((await storedTokens(tenantId))?.accessToken);
    expect(oauthMetrics(world).refreshCalls).toBe(before);
  });

  it('20 jobs at expiry make exactly one refresh call and all get the new token', async () => {
    const { tenantId } = await world.install(80002);
    const old = await storedTokens(tenantId);
    await expireIn(tenantId, 60_000);
    const before = oauthMetrics(world).refreshCalls;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => getAccessToken(world.runtime.db, world.runtime.services, tenantId)),
    );
    expect(oauthMetrics(world).refreshCalls - before).toBe(1);
    const tokens = new Set(results.map((r) => (r.ok ? r.value.accessToken : `failed: ${r.error.kind}`)));
    expect(tokens.size).toBe(1);
    const [fresh] = [...tokens];
    expect(fresh).not.toBe(old?.accessToken);
    // The new token works against HubSpot and is the one stored.
    expect(world.hubspot.state.tokens.has(fresh as string)).toBe(true);
    expect((await storedTokens(tenantId))?.accessToken).toBe(fresh);
    expect((await storedTokens(tenantId))!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
  });

  it('saves a rotated refresh token with its access token, so the next refresh uses the new one', async () => {
    const { tenantId } = await world.install(80003);
    configureLocalOauth(world.hubspot.state, { rotateRefreshTokens: true });
    try {
      const old = await storedTokens(tenantId);
      await expireIn(tenantId, 0);
      expect((await getAccessToken(world.runtime.db, world.runtime.services, tenantId)).ok).toBe(true);
      const rotated = await storedTokens(tenantId);
      expect(rotated?.refreshToken).not.toBe(old?.refreshToken);
      expect(localOauth(world.hubspot.state).refreshTokens.has(old!.refreshToken)).toBe(false);
      await expireIn(tenantId, 0);
      expect((await getAccessToken(world.runtime.db, world.runtime.services, tenantId)).ok).toBe(true);
    } finally {
      configureLocalOauth(world.hubspot.state, { rotateRefreshTokens: false });
    }
  });

  it('marks the tenant disconnected on invalid_grant, records why, announces it and keeps its data', async () => {
    const { tenantId } = await world.install(80004);
    // A webhook batch received before the uninstall.
    const sent = await world.webhooks.send([
      world.webhooks.event({
        portalId: 80004,
        objectId: 555,
        subscriptionType: 'object.propertyChange',
        propertyName: 'dealname',
        propertyValue: 'Kept',
      }),
    ]);
    expect(sent[0]?.status).toBe(200);
    uninstallPortal(world.hubspot.state, 80004);
    await expireIn(tenantId, 0);

    const refused = await getAccessToken(world.runtime.db, world.runtime.services, tenantId);
    expect(refused).toMatchObject({ ok: false, error: { kind: 'auth', code: 'invalid_grant' } });

    const db = world.runtime.db;
    expect(
      (await db.selectFrom('tenants').select('status').where('id', '=', tenantId).executeTakeFirstOrThrow())
        .status,
    ).toBe('disconnected');
    expect((await findConnection(db, tenantId))?.status).toBe('disconnected');
    const audit = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'tenant.disconnected')
      .execute();
    expect(audit).toHaveLength(1);
    const events = await db
      .selectFrom('outbox')
      .select('payload')
      .where('job_name', '=', 'events.deliver')
      .execute();
    expect(events.map((e) => e.payload as { type: string; tenantId: string })).toContainEqual(
      expect.objectContaining({ type: 'tenant.disconnected', tenantId }),
    );
    // Nothing lost: the received events are still in the inbox.
    const inbox = await db.selectFrom('inbox').select('payload').where('tenant_id', '=', tenantId).execute();
    expect(inbox).toHaveLength(1);

    // Later calls answer not_connected at once, without asking HubSpot again.
    const before = oauthMetrics(world).refreshCalls;
    const again = await getAccessToken(db, world.runtime.services, tenantId);
    expect(again).toMatchObject({ ok: false, error: { kind: 'not_connected' } });
    expect(oauthMetrics(world).refreshCalls).toBe(before);
  });

  it('lets an admin disconnect: the refresh token is revoked at HubSpot and deleted here', async () => {
    const { tenantId, body } = await world.install(80005);
    const key = /<code>(plk_[\w-]+)<\/code>/.exec(body)?.[1] as string;
    const refreshToken = (await storedTokens(tenantId))?.refreshToken as string;
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/crm/disconnect',
      headers: { authorization: `Bearer ${key}` },
      payload: {},
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'revoked', disconnectReason: 'admin_disconnect' });
    expect(localOauth(world.hubspot.state).refreshTokens.has(refreshToken)).toBe(false);
    const row = await findConnection(world.runtime.db, tenantId);
    expect(row).toMatchObject({ access_token: null, refresh_token: null });
    const tenant = await world.runtime.db
      .selectFrom('tenants')
      .select('status')
      .where('id', '=', tenantId)
      .executeTakeFirstOrThrow();
    expect(tenant.status).toBe('disconnected');
  });

  it('uninstalls the app from the HubSpot account on request, which ends every token of the portal', async () => {
    const { tenantId, body } = await world.install(80006);
    const key = /<code>(plk_[\w-]+)<\/code>/.exec(body)?.[1] as string;
    const before = localOauth(world.hubspot.state).metrics.uninstalls;
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/crm/disconnect',
      headers: { authorization: `Bearer ${key}` },
      payload: { uninstall: true },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'revoked', disconnectReason: 'uninstalled' });
    expect(localOauth(world.hubspot.state).metrics.uninstalls).toBe(before + 1);
    expect([...world.hubspot.state.tokens.values()].some((grant) => grant.portalId === 80006)).toBe(false);
    const tenant = await world.runtime.db
      .selectFrom('tenants')
      .select('status')
      .where('id', '=', tenantId)
      .executeTakeFirstOrThrow();
    expect(tenant.status).toBe('uninstalled');
  });
});
