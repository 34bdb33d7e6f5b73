import type { App } from '../../../src/app.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
  type TestRuntimeOptions,
} from '../../helpers/test-runtime.ts';
import { waitFor } from '../../helpers/wait-for.ts';
import { type LocalHubspot, startLocalHubspot } from '../../hubspot/local-hubspot.ts';
import { configureLocalOauth, localOauth } from '../../hubspot/local-hubspot-oauth.ts';
import {
  type LocalWebhookSender,
  localWebhooks,
  type WebhookEvent,
} from '../../hubspot/local-hubspot-webhooks.ts';

export const CLIENT_ID = 'test-client-id';
export const CLIENT_SECRET = 'test-client-secret-0123456789';
export const PUBLIC_URL = 'https://partnerloop.example.com';

/** The app wired to a local HubSpot: the OAuth app registered there, webhooks signed for PUBLIC_URL. */
export interface HubspotWorld {
  hubspot: LocalHubspot;
  database: TestDatabase;
  runtime: TestRuntime;
  app: App;
  /** Where the app listens; the sender signs PUBLIC_URL and delivers here. */
  address: string;
  webhooks: LocalWebhookSender;
  /** Clicks through the install for a portal, as an admin would; returns the callback's page. */
  install(portalId: number): Promise<{ status: number; body: string; tenantId: string }>;
  close(): Promise<void>;
}

export async function openHubspotWorld(options: TestRuntimeOptions = {}): Promise<HubspotWorld> {
  const hubspot = await startLocalHubspot();
  configureLocalOauth(hubspot.state, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, {
    ...options,
    env: {
      PUBLIC_URL,
      HUBSPOT_CLIENT_ID: CLIENT_ID,
      HUBSPOT_CLIENT_SECRET: CLIENT_SECRET,
      HUBSPOT_APP_ID: String(hubspot.state.appId),
      HUBSPOT_API_BASE: hubspot.url,
      HUBSPOT_AUTH_BASE: hubspot.url,
      ...options.env,
    },
  });
  const app = await buildTestApp(runtime);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const webhooks = localWebhooks(hubspot.state, {
    targetUrl: `${PUBLIC_URL}/webhooks/hubspot`,
    deliverTo: `${address}/webhooks/hubspot`,
    clientSecret: CLIENT_SECRET,
  });

  async function install(portalId: number) {
    const start = await app.inject({ method: 'GET', url: '/oauth/hubspot/install' });
    if (start.statusCode !== 302) throw new Error(`install answered ${start.statusCode}: ${start.body}`);
    const authorize = new URL(start.headers.location as string);
    // The admin approves on HubSpot's page: the form posts back what the authorize URL carried.
    const form = new URLSearchParams(authorize.searchParams);
    form.set('portal_id', String(portalId));
    const approved = await fetch(`${hubspot.url}/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
    const callback = new URL(approved.headers.get('location') as string);
    const page = await app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}` });
    const tenant = await runtime.db
      .selectFrom('tenants')
      .select('id')
      .where('crm_kind', '=', 'hubspot')
      .where('crm_account_id', '=', String(portalId))
      .executeTakeFirst();
    return { status: page.statusCode, body: page.body, tenantId: tenant?.id ?? '' };
  }

  return {
    hubspot,
    database,
    runtime,
    app,
    address,
    webhooks,
    install,
    async close() {
      await app.close();
      await runtime.close();
      await hubspot.close();
      await clearRedisPrefix(runtime.redisPrefix);
      await database.destroy();
    },
  };
}

export const oauthMetrics = (world: HubspotWorld) => localOauth(world.hubspot.state).metrics;

/**
 * Waits until the inbox holds every one of these HubSpot events processed; their outcomes by event
 * id, as stored (with " (with <id>)" when another event's job recorded them).
 */
export function processedOutcomes(
  world: HubspotWorld,
  events: WebhookEvent[],
  timeoutMs = 20_000,
): Promise<Record<string, string | null>> {
  return waitFor(
    'inbox processed',
    async () => {
      const rows = await world.runtime.db
        .selectFrom('inbox')
        .select(['source_id', 'processed_at', 'outcome'])
        .where(
          'source_id',
          'in',
          events.map((e) => `${e.portalId}:${e.eventId}`),
        )
        .execute();
      return rows.length === new Set(events.map((e) => e.eventId)).size && rows.every((r) => r.processed_at)
        ? Object.fromEntries(rows.map((r) => [r.source_id.split(':')[1]!, r.outcome]))
        : undefined;
    },
    { timeoutMs },
  );
}
