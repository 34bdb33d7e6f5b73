import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { localHubspotAccount } from './local-hubspot-account.ts';
import { localHubspotAssociations } from './local-hubspot-associations.ts';
import { sendError } from './local-hubspot-errors.ts';
import { localHubspotOauth } from './local-hubspot-oauth.ts';
import { localHubspotObjects } from './local-hubspot-objects.ts';
import { localHubspotPipelines } from './local-hubspot-pipelines.ts';
import { localHubspotProperties } from './local-hubspot-properties.ts';
import { type LocalHubspotOptions, LocalHubspotState, type Portal } from './local-hubspot-state.ts';
import { localHubspotUser } from './local-hubspot-user.ts';
import { localHubspotWebhooks } from './local-hubspot-webhooks.ts';

/**
 * A local HubSpot: speaks HubSpot's documented wire format for exactly the endpoints PartnerLoop
 * uses, keeps its state in memory, and enforces the documented limits (110 requests per 10 s
 * rolling window per account for OAuth apps, CRM search 4 requests per second per token) with the
 * documented 429 body and `X-HubSpot-RateLimit-*` headers. `@hubspot/api-client` is pointed at it
 * through its `basePath`. Each area is a plugin in its own file (`local-hubspot-*.ts`).
 */
export interface LocalHubspot {
  url: string;
  state: LocalHubspotState;
  app: FastifyInstance;
  close(): Promise<void>;
}

export interface AreaOptions {
  state: LocalHubspotState;
}

const portals = new WeakMap<FastifyRequest, Portal>();

/** The portal the request's access token belongs to (set by the API scope's auth hook). */
export function portalOf(request: FastifyRequest): Portal {
  const portal = portals.get(request);
  if (!portal) throw new Error('route outside the authenticated API scope');
  return portal;
}

export function buildLocalHubspot(state: LocalHubspotState): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });

  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 400) return sendError(reply, 400, 'VALIDATION_ERROR', error.message);
    return reply.code(status).send({ status: 'error', message: error.message, correlationId: 'local' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ status: 'error', message: `No route for ${request.method} ${request.url}` }),
  );

  // The CRM API: every call carries a bearer token and counts against the portal's limits.
  app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      const grant = state.tokens.get(token);
      if (!grant) {
        return sendError(
          reply,
          401,
          'INVALID_AUTHENTICATION',
          'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
        );
      }
      if (grant.expiresAt <= Date.now()) {
        return sendError(
          reply,
          401,
          'EXPIRED_AUTHENTICATION',
          `The OAuth token used to make this call expired ${Math.round((Date.now() - grant.expiresAt) / 1000)} second(s) ago.`,
        );
      }
      state.metrics.requests += 1;
      const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
      state.metrics.byRoute.set(route, (state.metrics.byRoute.get(route) ?? 0) + 1);
      const limited = state.limiter.admit(grant.portalId, token, isSearch(request));
      for (const [name, value] of Object.entries(limited.headers)) reply.header(name, value);
      if (limited.body) {
        state.metrics.rateLimited += 1;
        return reply.code(429).send(limited.body);
      }
      const fault = state.takeFault(request.method, request.url);
      if (fault) {
        return reply.code(fault).send({
          status: 'error',
          message: 'internal error',
          correlationId: 'local-fault',
          category: 'INTERNAL_ERROR',
        });
      }
      portals.set(request, state.portal(grant.portalId));
    });
    await api.register(localHubspotAccount, { state });
    await api.register(localHubspotProperties, { state });
    await api.register(localHubspotPipelines, { state });
    await api.register(localHubspotObjects, { state });
    await api.register(localHubspotAssociations, { state });
  });
  // OAuth and webhooks (their own files) register here: they are outside the API's token check.
  app.register(localHubspotOauth, { state });
  app.register(localHubspotWebhooks, { state });
  app.register(localHubspotUser, { state });
  return app;
}

function isSearch(request: FastifyRequest): boolean {
  return request.method === 'POST' && /\/crm\/v3\/objects\/[^/]+\/search$/.test(request.url.split('?')[0]!);
}

export async function startLocalHubspot(
  options: LocalHubspotOptions & { port?: number; host?: string } = {},
): Promise<LocalHubspot> {
  const state = new LocalHubspotState(options);
  const app = buildLocalHubspot(state);
  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  return { url: address, state, app, close: () => app.close() };
}
