import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConnection, openTokens } from '../../../src/crm/crm-connection.repository.ts';
import { listStageMappings } from '../../../src/crm/stage-mapping.repository.ts';
import { seal } from '../../../src/crypto/secret-box.ts';
import { createTestDatabase } from '../../helpers/test-database.ts';
import { buildTestApp, createTestRuntime } from '../../helpers/test-runtime.ts';
import { type LocalSalesforce, startLocalSalesforce } from '../../salesforce/local-salesforce.ts';
import { packageFields } from './package-fields.ts';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  openSalesforceWorld,
  PUBLIC_URL,
  type SalesforceWorld,
} from './salesforce-world.ts';

const adminKeyOf = (body: string) => /<code>(plk_[\w-]+)<\/code>/.exec(body)?.[1] as string;

describe('Salesforce install: OAuth web server flow with PKCE, production and sandbox, one tenant per org', () => {
  let world: SalesforceWorld;
  let sandbox: LocalSalesforce;
  beforeAll(async () => {
    // The sandbox org lacks our fields, as an org does before the admin deploys crm-extensions/salesforce.
    sandbox = await startLocalSalesforce({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    world = await openSalesforceWorld({ runtime: { env: { SALESFORCE_SANDBOX_LOGIN_URL: sandbox.url } } });
  });
  afterAll(async () => {
    await world?.close();
    await sandbox?.close();
  });

  it('sends the admin to the login host with an S256 challenge whose verifier stays sealed on our side', async () => {
    const start = await world.app.inject({ method: 'GET', url: '/oauth/salesforce/install' });
    expect(start.statusCode).toBe(302);
    const authorize = new URL(start.headers.location as string);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${world.org.url}/services/oauth2/authorize`);
    const q = authorize.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(CLIENT_ID);
    expect(q.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth/salesforce/callback`);
    expect(q.get('scope')).toBe('api refresh_token');
    expect(q.get('code_challenge_method')).toBe('S256');
    const state = q.get('state') as string;
    const row = await world.runtime.db
      .selectFrom('crm_oauth_states')
      .selectAll()
      .where('state', '=', state.split('.')[0]!)
      .executeTakeFirstOrThrow();
    expect(row.login_url).toBe(world.org.url);
    // Sealed: the stored value is not a verifier whose hash is the challenge, but opens to one.
    expect(createHash('sha256').update(row.code_verifier).digest('base64url')).not.toBe(
      q.get('code_challenge'),
    );
    expect(row.expires_at.getTime()).toBeGreaterThan(Date.now() + 10 * 60_000);
  });

  it('creates the org tenant, stores instance URL and sealed tokens, classifies stages by IsClosed/IsWon, shows a one-time key', async () => {
    const installed = await world.install();
    expect(installed.status, installed.body).toBe(200);
    expect(installed.body).toContain('Salesforce connected');
    expect(installed.body).toContain(world.org.orgId);
    expect(installed.body).toContain("PartnerLoop's Opportunity fields are all there");
    expect(adminKeyOf(installed.body)).toMatch(/^plk_/);
    const db = world.runtime.db;
    const tenant = await db
      .selectFrom('tenants')
      .selectAll()
      .where('id', '=', installed.tenantId)
      .executeTakeFirstOrThrow();
    expect(tenant).toMatchObject({
      crm_kind: 'salesforce',
      crm_account_id: world.org.orgId,
      status: 'active',
    });
    const row = (await findConnection(db, installed.tenantId))!;
    expect(row).toMatchObject({
      crm_kind: 'salesforce',
      account_id: world.org.orgId,
      instance_url: world.org.url,
    });
    expect(row.access_token_expires_at).toBeNull();
    const tokens = openTokens(world.runtime.services.secrets.tokenEncryptionKey, row)!;
    expect(world.org.state.accessTokens.has(tokens.accessToken)).toBe(true);
    expect(world.org.state.refreshTokens.has(tokens.refreshToken)).toBe(true);
    expect(row.access_token).not.toContain(tokens.accessToken);
    const stages = await listStageMappings(db, installed.tenantId);
    const byId = Object.fromEntries(stages.map((s) => [s.stage_id, s]));
    expect(stages).toHaveLength(7);
    expect(byId['Closed Won']).toMatchObject({ derived_category: 'won', is_closed: true, is_won: true });
    expect(byId['Closed Lost']).toMatchObject({ derived_category: 'lost', is_closed: true, is_won: false });
    expect(byId.Prospecting).toMatchObject({ derived_category: 'open', is_closed: false, is_won: null });
    // The state is single use: the same callback again is refused.
    const replay = await world.app.inject({ method: 'GET', url: installed.callback });
    expect(replay.statusCode).toBe(400);
    expect(replay.body).toContain('already completed');
  });

  it('a reinstall of the same org reactivates its tenant with new tokens and creates no second admin key', async () => {
    const first = await world.install();
    await world.runtime.db
      .updateTable('tenants')
      .set({ status: 'disconnected' })
      .where('id', '=', first.tenantId)
      .execute();
    const before = openTokens(
      world.runtime.services.secrets.tokenEncryptionKey,
      (await findConnection(world.runtime.db, first.tenantId))!,
    );
    const again = await world.install();
    expect(again.tenantId).toBe(first.tenantId);
    expect(again.body).toContain('active again');
    expect(again.body).toContain('no new key was created');
    const tenant = await world.runtime.db
      .selectFrom('tenants')
      .select('status')
      .where('id', '=', first.tenantId)
      .executeTakeFirstOrThrow();
    expect(tenant.status).toBe('active');
    const after = openTokens(
      world.runtime.services.secrets.tokenEncryptionKey,
      (await findConnection(world.runtime.db, first.tenantId))!,
    );
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    const tenants = await world.runtime.db
      .selectFrom('tenants')
      .select('id')
      .where('crm_account_id', '=', world.org.orgId)
      .execute();
    expect(tenants).toHaveLength(1);
  });

  it('refuses a callback with a verifier that does not match the challenge (PKCE), and one with a forged state', async () => {
    const start = await world.app.inject({ method: 'GET', url: '/oauth/salesforce/install' });
    const state = new URL(start.headers.location as string).searchParams.get('state') as string;
    const nonce = state.split('.')[0]!;
    await world.runtime.db
      .updateTable('crm_oauth_states')
      .set({
        code_verifier: seal(
          world.runtime.services.secrets.tokenEncryptionKey,
          'a-verifier-that-was-never-challenged-0123456789-abcdefghijklmnop',
          `crm_oauth_states:${nonce}:code_verifier`,
        ),
      })
      .where('state', '=', nonce)
      .execute();
    const approved = await fetch(start.headers.location as string, { redirect: 'manual' });
    const callback = new URL(approved.headers.get('location') as string);
    const refused = await world.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}` });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('did not accept the install');

    const forged = await world.app.inject({
      method: 'GET',
      url: '/oauth/salesforce/callback?code=abc&state=x.y.z',
    });
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain('could not be verified');
  });

  it('?sandbox=true goes to the sandbox login host, and an org without our fields is told which ones to deploy', async () => {
    const installed = await world.install('?sandbox=true', sandbox);
    expect(new URL(installed.location).origin).toBe(sandbox.url);
    expect(installed.status, installed.body).toBe(200);
    expect(installed.body).toContain('Salesforce sandbox');
    expect((await findConnection(world.runtime.db, installed.tenantId))?.instance_url).toBe(sandbox.url);
    for (const name of [
      'Partner__c',
      'Partner_Id__c',
      'Registration_Id__c',
      'Registration_Status__c',
      'Protected_Until__c',
    ])
      expect(installed.body).toContain(name);
    expect(installed.body).toContain('crm-extensions/salesforce');

    const admin = { authorization: `Bearer ${adminKeyOf(installed.body)}` };
    const connection = await world.app.inject({
      method: 'GET',
      url: '/api/v1/crm/connection',
      headers: admin,
    });
    expect(connection.statusCode).toBe(200);
    expect(connection.json()).toMatchObject({
      crmKind: 'salesforce',
      accountId: sandbox.orgId,
      instanceUrl: sandbox.url,
      fields: { checked: true, missing: expect.arrayContaining(['Partner__c', 'Registration_Id__c']) },
    });

    // The admin deploys the project: every field as crm-extensions/salesforce defines it.
    for (const { metadataType: _, ...field } of packageFields()) sandbox.addCustomField('Opportunity', field);
    const checked = await world.app.inject({
      method: 'POST',
      url: '/api/v1/crm/fields/check',
      headers: admin,
      payload: {},
    });
    expect(checked.json()).toEqual({ checked: true, created: [], missing: [], problem: null });
  });

  it('an admin disconnect revokes the refresh token at the org and deletes our copy', async () => {
    const t = await world.connectTenant(await world.startOrg());
    const refresh = openTokens(
      world.runtime.services.secrets.tokenEncryptionKey,
      (await findConnection(world.runtime.db, t.tenant.id))!,
    )!.refreshToken;
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/crm/disconnect',
      headers: t.as('admin'),
      payload: {},
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      crmKind: 'salesforce',
      status: 'revoked',
      disconnectReason: 'admin_disconnect',
    });
    expect(t.org.state.refreshTokens.has(refresh)).toBe(false);
    expect(await findConnection(world.runtime.db, t.tenant.id)).toMatchObject({
      access_token: null,
      refresh_token: null,
    });
  });
});

describe('Salesforce routes without configuration', () => {
  it('answer 503 not_configured naming the variables to set', async () => {
    const database = await createTestDatabase();
    const runtime = await createTestRuntime(database);
    const app = await buildTestApp(runtime);
    try {
      for (const url of [
        '/oauth/salesforce/install',
        '/oauth/salesforce/install?sandbox=true',
        '/oauth/salesforce/callback?code=a&state=b',
      ]) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode, url).toBe(503);
        expect(response.json().error.code).toBe('not_configured');
        expect(response.json().error.message).toContain('SALESFORCE_CLIENT_ID');
        expect(response.json().error.message).toContain('SALESFORCE_CLIENT_SECRET');
      }
    } finally {
      await app.close();
      await runtime.close();
      await database.destroy();
    }
  });
});
