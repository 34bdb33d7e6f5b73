import type { App } from '../../../src/app.ts';
import { upsertConnection } from '../../../src/crm/crm-connection.repository.ts';
import { type HubspotConnector, hubspotConnector } from '../../../src/crm/hubspot/hubspot-connector.ts';
import { makeTenant, type TenantWithKeys } from '../../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
  type TestRuntimeOptions,
} from '../../helpers/test-runtime.ts';
import { type LocalHubspot, startLocalHubspot } from '../../hubspot/local-hubspot.ts';
import type { LocalHubspotOptions } from '../../hubspot/local-hubspot-state.ts';

/**
 * A test database and runtime whose HUBSPOT_API_BASE is a local HubSpot, and tenants connected to
 * its portals directly (a token issued by the local HubSpot, sealed in crm_connections), for tests
 * of what happens after the install.
 */
export interface ConnectedWorld {
  database: TestDatabase;
  runtime: TestRuntime;
  app: App;
  hubspot: LocalHubspot;
  connectTenant(portalId?: number): Promise<ConnectedTenant>;
  /** Connects an existing tenant to a portal: a fresh token in crm_connections. */
  connect(tenantId: string, portalId: number): Promise<HubspotConnector>;
  newPortalId(): number;
  close(): Promise<void>;
}

export interface ConnectedTenant extends TenantWithKeys {
  portalId: number;
  connector: HubspotConnector;
}

let nextPortal = 62_000_000 + Math.floor(Math.random() * 1_000_000);

export async function openConnectedWorld(
  options: LocalHubspotOptions & { runtime?: TestRuntimeOptions } = {},
): Promise<ConnectedWorld> {
  const hubspot = await startLocalHubspot(options);
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, {
    ...options.runtime,
    env: {
      HUBSPOT_API_BASE: hubspot.url,
      HUBSPOT_CLIENT_ID: 'local-client',
      HUBSPOT_CLIENT_SECRET: 'local-secret',
      ...options.runtime?.env,
    },
  });
  const app = await buildTestApp(runtime);
  const world: ConnectedWorld = {
    database,
    runtime,
    app,
    hubspot,
    newPortalId: () => nextPortal++,
    async connect(tenantId, portalId) {
      const accessToken = hubspot.state.issueToken(portalId);
      await runtime.db.transaction().execute((tx) =>
        upsertConnection(tx, runtime.services.secrets.tokenEncryptionKey, {
          tenantId,
          crmKind: 'hubspot',
          accountId: String(portalId),
          tokens: {
            accessToken,
            refreshToken: `refresh-${portalId}`,
            expiresAt: new Date(Date.now() + 30 * 60_000),
          },
          scopes: [],
          installedBy: null,
        }),
      );
      return hubspotConnector(runtime.db, runtime.services, tenantId);
    },
    async connectTenant(portalId = nextPortal++) {
      const t = await makeTenant(runtime.db, { crmKind: 'hubspot', crmAccountId: String(portalId) });
      return { ...t, portalId, connector: await world.connect(t.tenant.id, portalId) };
    },
    async close() {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
      await database.destroy();
      await hubspot.close();
    },
  };
  return world;
}
