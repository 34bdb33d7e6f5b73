import type { App } from '../../../src/app.ts';
import { upsertConnection } from '../../../src/crm/crm-connection.repository.ts';
import type { SalesforceConnector } from '../../../src/crm/salesforce/salesforce-connector.ts';
import { salesforceConnector } from '../../../src/crm/salesforce/salesforce-session.ts';
import { makeTenant, type TenantWithKeys } from '../../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
  type TestRuntimeOptions,
} from '../../helpers/test-runtime.ts';
import {
  type LocalSalesforce,
  type LocalSalesforceOptions,
  startLocalSalesforce,
} from '../../salesforce/local-salesforce.ts';
import { opportunityFieldsOption } from './package-fields.ts';

export const CLIENT_ID = 'sf-world-client-id';
export const CLIENT_SECRET = 'sf-world-client-secret';
export const PUBLIC_URL = 'https://partnerloop.example.com';

/**
 * The app wired to local Salesforce orgs: SALESFORCE_LOGIN_URL is the first org's host, and more
 * orgs (one tenant each) start on demand. Orgs carry our Opportunity fields as the SFDX project in
 * crm-extensions/salesforce defines them, unless `withOurFields: false`.
 */
export interface SalesforceWorld {
  org: LocalSalesforce;
  database: TestDatabase;
  runtime: TestRuntime;
  app: App;
  startOrg(options?: LocalSalesforceOptions & { withOurFields?: boolean }): Promise<LocalSalesforce>;
  /** A tenant connected to an org directly (tokens the org issued, sealed in crm_connections). */
  connectTenant(org?: LocalSalesforce): Promise<SalesforceTenant>;
  /** Connects an existing (salesforce) tenant to an org the same way. */
  connect(tenantId: string, org: LocalSalesforce): Promise<SalesforceConnector>;
  /** Clicks through `/oauth/salesforce/install{query}` as an admin would, against `org`. */
  install(
    query?: string,
    org?: LocalSalesforce,
  ): Promise<{ status: number; body: string; tenantId: string; location: string; callback: string }>;
  close(): Promise<void>;
}

export interface SalesforceTenant extends TenantWithKeys {
  org: LocalSalesforce;
  connector: SalesforceConnector;
}

export async function openSalesforceWorld(
  options: { org?: LocalSalesforceOptions & { withOurFields?: boolean }; runtime?: TestRuntimeOptions } = {},
): Promise<SalesforceWorld> {
  const orgs: LocalSalesforce[] = [];
  const startOrg = async ({
    withOurFields = true,
    ...rest
  }: LocalSalesforceOptions & { withOurFields?: boolean } = {}) => {
    const org = await startLocalSalesforce({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      ...(withOurFields ? { customFields: opportunityFieldsOption() } : {}),
      ...rest,
    });
    orgs.push(org);
    return org;
  };
  const org = await startOrg(options.org);
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, {
    ...options.runtime,
    env: {
      PUBLIC_URL,
      SALESFORCE_CLIENT_ID: CLIENT_ID,
      SALESFORCE_CLIENT_SECRET: CLIENT_SECRET,
      SALESFORCE_LOGIN_URL: org.url,
      ...options.runtime?.env,
    },
  });
  const app = await buildTestApp(runtime);

  const world: SalesforceWorld = {
    org,
    database,
    runtime,
    app,
    startOrg,
    async connect(tenantId, target) {
      const tokens = target.issueTokens();
      await runtime.db.transaction().execute((tx) =>
        upsertConnection(tx, runtime.services.secrets.tokenEncryptionKey, {
          tenantId,
          crmKind: 'salesforce',
          accountId: target.orgId,
          tokens: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: null },
          instanceUrl: tokens.instanceUrl,
          scopes: ['api', 'refresh_token'],
          installedBy: target.userId,
        }),
      );
      return salesforceConnector(runtime.db, runtime.services, tenantId);
    },
    async connectTenant(target = org) {
      const t = await makeTenant(runtime.db, { crmKind: 'salesforce', crmAccountId: target.orgId });
      return { ...t, org: target, connector: await world.connect(t.tenant.id, target) };
    },
    async install(query = '', target = org) {
      const start = await app.inject({ method: 'GET', url: `/oauth/salesforce/install${query}` });
      if (start.statusCode !== 302)
        return { status: start.statusCode, body: start.body, tenantId: '', location: '', callback: '' };
      const location = start.headers.location as string;
      // The admin approves on the org's login page, which redirects back with the code.
      const approved = await fetch(location, { redirect: 'manual' });
      const callback = new URL(approved.headers.get('location') as string);
      const back = `${callback.pathname}${callback.search}`;
      const page = await app.inject({ method: 'GET', url: back });
      const tenant = await runtime.db
        .selectFrom('tenants')
        .select('id')
        .where('crm_kind', '=', 'salesforce')
        .where('crm_account_id', '=', target.orgId)
        .executeTakeFirst();
      return {
        status: page.statusCode,
        body: page.body,
        tenantId: tenant?.id ?? '',
        location,
        callback: back,
      };
    },
    async close() {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
      await database.destroy();
      for (const o of orgs) await o.close();
    },
  };
  return world;
}
