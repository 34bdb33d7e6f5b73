import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app.ts';
import { AppError } from '../../errors/app-error.ts';
import { tenantsByPortal } from '../crm-connection.repository.ts';
import { requireHubspotConfigured } from './hubspot-oauth.guard.ts';
import { type HubspotWebhookEvent, storeHubspotBatch } from './hubspot-webhook.inbox.ts';
import { verifyHubspotSignature } from './hubspot-webhook.signature.ts';

const Received = Type.Object({ received: Type.Integer(), duplicates: Type.Integer() });
const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  503: { $ref: 'ErrorResponse#' },
};

/** HubSpot batches are at most 100 events; anything far larger is not HubSpot. */
const MAX_EVENTS = 1_000;
/** A portal's tenant never changes (unique crm account); a short cache spares each batch a lookup. */
const TENANT_CACHE_MS = 30_000;

function isEvent(value: unknown): value is HubspotWebhookEvent {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  const id = (v: unknown) =>
    (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && /^\d{1,20}$/.test(v));
  return (
    id(e.eventId) &&
    id(e.portalId) &&
    id(e.objectId) &&
    typeof e.occurredAt === 'number' &&
    typeof e.subscriptionType === 'string'
  );
}

/**
 * `POST /webhooks/hubspot`: the signature is checked over the raw bytes (this plugin's JSON parser
 * keeps the Buffer), then the batch is stored in the inbox and acknowledged; processing is a job.
 * 401 for a bad or stale signature (HubSpot does not retry those); 5xx makes HubSpot retry.
 */
export const hubspotWebhookRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const { config } = deps;
  // Scoped to this plugin: other routes keep Fastify's JSON parser.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: 4 * 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );

  const cache = new Map<string, { tenantId: string; until: number }>();
  async function tenantsFor(portalIds: string[]): Promise<Map<string, string>> {
    const now = Date.now();
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const portal of portalIds) {
      const hit = cache.get(portal);
      if (hit && hit.until > now) found.set(portal, hit.tenantId);
      else missing.push(portal);
    }
    if (missing.length > 0) {
      for (const [portal, tenantId] of await tenantsByPortal(deps.db, missing)) {
        found.set(portal, tenantId);
        cache.set(portal, { tenantId, until: now + TENANT_CACHE_MS });
      }
    }
    return found;
  }

  app.post(
    '/webhooks/hubspot',
    {
      preHandler: requireHubspotConfigured(deps),
      schema: {
        tags: ['crm'],
        summary: 'HubSpot webhook batches (signed, X-HubSpot-Signature-v3)',
        response: { 200: Received, ...Errors },
      },
    },
    async (request) => {
      const body = request.body;
      if (!Buffer.isBuffer(body)) throw new AppError('bad_request', 'Send the batch as application/json');
      // The URL HubSpot signed is the registered target: PUBLIC_URL plus the path and query as sent.
      const check = verifyHubspotSignature(
        config.hubspotClientSecret as string,
        { method: request.method, uri: `${config.publicUrl}${request.url}`, body, headers: request.headers },
        Date.now(),
      );
      if (!check.ok) {
        request.log.warn({ reason: check.reason }, 'hubspot webhook refused: signature');
        throw new AppError('unauthorized', `Invalid HubSpot signature (${check.reason})`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new AppError('invalid_json', 'The request body is not valid JSON');
      }
      const batch = Array.isArray(parsed) ? parsed : [parsed];
      if (batch.length > MAX_EVENTS || !batch.every(isEvent)) {
        throw new AppError('bad_request', 'Expected an array of HubSpot webhook events');
      }
      const ours = config.hubspotAppId
        ? batch.filter((e) => e.appId === undefined || String(e.appId) === config.hubspotAppId)
        : batch;
      const tenants = await tenantsFor([...new Set(ours.map((e) => String(e.portalId)))]);
      // One statement: atomic on its own, so no transaction round trips.
      const result = await storeHubspotBatch(deps.db, ours, tenants);
      return { received: result.stored, duplicates: result.duplicates };
    },
  );
};
