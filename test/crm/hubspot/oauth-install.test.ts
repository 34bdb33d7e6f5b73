import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUBSPOT_SCOPES } from '../../../src/crm/hubspot/hubspot-oauth.auth.ts';
import { createTestDatabase } from '../../helpers/test-database.ts';
import { buildTestApp, createTestRuntime } from '../../helpers/test-runtime.ts';
import { localOauth } from '../../hubspot/local-hubspot-oauth.ts';
import { CLIENT_ID, type HubspotWorld, openHubspotWorld, PUBLIC_URL } from './hubspot-world.ts';

describe('HubSpot install (OAuth through the local HubSpot)', () => {
  let world: HubspotWorld;
  beforeAll(async () => {
    world = await openHubspotWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('sends the admin to HubSpot with exactly our scopes, our callback and a signed state', async () => {
    const response = await world.app.inject({ method: 'GET', url: '/oauth/hubspot/install' });
    expect(response.statusCode).toBe(302);
    const url = new URL(response.headers.location as string);
    expect(`${url.origin}${url.pathname}`).toBe(`${world.hubspot.url}/oauth/authorize`);
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth/hubspot/callback`);
    expect(url.searchParams.get('scope')?.split(' ').sort()).toEqual([...HUBSPOT_SCOPES].sort());
    expect(url.searchParams.get('state')).toMatch(/^[\w-]+\.[0-9a-z]+\.[\w-]+$/);
  });

  it('creates the tenant, stores the tokens sealed, classifies the stages and shows a one-time admin key', async () => {
    const page = await world.install(62515);
    expect(page.status).toBe(200);
    expect(page.body).toContain('HubSpot connected');
    const key = /<code>(plk_[\w-]+)<\/code>/.exec(page.body)?.[1];
    expect(key).toBeDefined();

    const tenant = await world.runtime.db
      .selectFrom('tenants')
      .selectAll()
      .where('id', '=', page.tenantId)
      .executeTakeFirstOrThrow();
    expect(tenant).toMatchObject({ crm_kind: 'hubspot', crm_account_id: '62515', status: 'active' });

    const row = await world.runtime.db
      .selectFrom('crm_connections')
      .selectAll()
      .where('tenant_id', '=', tenant.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('connected');
    const stored = JSON.stringify(row);
    const refreshTokens = [...localOauth(world.hubspot.state).refreshTokens.keys()];
    const accessTokens = [...world.hubspot.state.tokens.keys()];
    expect(refreshTokens.length).toBeGreaterThan(0);
    for (const token of [...refreshTokens, ...accessTokens]) expect(stored).not.toContain(token);
    expect(row.access_token).toMatch(/^v1\./);
    expect(row.refresh_token).toMatch(/^v1\./);

    const stages = await world.app.inject({
      method: 'GET',
      url: '/api/v1/crm/stage-mapping',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(stages.statusCode).toBe(200);
    const byId = Object.fromEntries(
      (stages.json().stages as { stageId: string; category: string }[]).map((s) => [s.stageId, s.category]),
    );
    expect(byId).toMatchObject({ closedwon: 'won', closedlost: 'lost', appointmentscheduled: 'open' });
    // Our deal properties exist in the portal, in their group.
    const properties = world.hubspot.state.portal(62515).properties.deals;
    expect(properties.get('partnerloop_registration_id')?.groupName).toBe('partnerloop');
  });

  it('keeps an admin override across a re-read of the pipelines (a reinstall)', async () => {
    const first = await world.install(70001);
    const key = /<code>(plk_[\w-]+)<\/code>/.exec(first.body)?.[1] as string;
    const auth = { authorization: `Bearer ${key}` };
    const patched = await world.app.inject({
      method: 'PATCH',
      url: '/api/v1/crm/stage-mapping',
      headers: auth,
      payload: { stages: [{ pipelineId: 'default', stageId: 'contractsent', category: 'won' }] },
    });
    expect(patched.statusCode).toBe(200);

    const again = await world.install(70001);
    expect(again.status).toBe(200);
    expect(again.tenantId).toBe(first.tenantId);
    // An admin key exists already: the reinstall shows none.
    expect(again.body).not.toMatch(/plk_/);
    const stages = (
      await world.app.inject({ method: 'GET', url: '/api/v1/crm/stage-mapping', headers: auth })
    ).json().stages as { stageId: string; category: string; derivedCategory: string }[];
    expect(stages.find((s) => s.stageId === 'contractsent')).toMatchObject({
      category: 'won',
      derivedCategory: 'open',
    });
  });

  it('reactivates a disconnected tenant on reinstall', async () => {
    const first = await world.install(70002);
    await world.runtime.db
      .updateTable('tenants')
      .set({ status: 'disconnected' })
      .where('id', '=', first.tenantId)
      .execute();
    const again = await world.install(70002);
    expect(again.tenantId).toBe(first.tenantId);
    const tenant = await world.runtime.db
      .selectFrom('tenants')
      .select('status')
      .where('id', '=', first.tenantId)
      .executeTakeFirstOrThrow();
    expect(tenant.status).toBe('active');
  });

  it('refuses a callback whose state was not signed by us, or whose code was already used', async () => {
    const forged = await world.app.inject({
      method: 'GET',
      url: '/oauth/hubspot/callback?code=abc&state=x.y.z',
    });
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain('could not be verified');
    expect(localOauth(world.hubspot.state).metrics.codeExchanges).toBeGreaterThan(0);
  });
});

describe('HubSpot routes without configuration', () => {
  it('answers 503 not_configured naming the variables to set', async () => {
    const database = await createTestDatabase();
    const runtime = await createTestRuntime(database);
    const app = await buildTestApp(runtime);
    try {
      for (const [method, url] of [
        ['GET', '/oauth/hubspot/install'],
        ['GET', '/oauth/hubspot/callback?code=a&state=b'],
        ['POST', '/webhooks/hubspot'],
      ] as const) {
        const response = await app.inject({ method, url, ...(method === 'POST' ? { payload: [] } : {}) });
        expect(response.statusCode, url).toBe(503);
        expect(response.json().error.code).toBe('not_configured');
        expect(response.json().error.message).toContain('HUBSPOT_CLIENT_ID');
      }
    } finally {
      await app.close();
      await runtime.close();
      await database.destroy();
    }
  });
});
