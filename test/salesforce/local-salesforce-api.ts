import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { collectionRoutes } from './local-salesforce-collections.ts';
import { compositeRoutes } from './local-salesforce-composite.ts';
import { invalidSession, requestLimitExceeded, SalesforceError } from './local-salesforce-errors.ts';
import { presentedToken } from './local-salesforce-oauth.ts';
import { queryRoutes } from './local-salesforce-query.ts';
import {
  changeOriginOf,
  parseRestUrl,
  type RestRequest,
  type RestResponse,
  type RestRoute,
  type SubRequest,
  serve,
} from './local-salesforce-rest.ts';
import { sobjectRoutes } from './local-salesforce-sobjects.ts';
import type { LocalSalesforceState } from './local-salesforce-state.ts';

/**
 * The REST API under `/services/data/`: the version list (no session needed), then for
 * `/services/data/vXX.X/…` the session check (401 INVALID_SESSION_ID), the daily allowance
 * (every call counts; 403 REQUEST_LIMIT_EXCEEDED once spent) and `Sforce-Limit-Info` on every answer.
 */
export const restRoutes: RestRoute[] = [
  ...sobjectRoutes,
  ...queryRoutes,
  ...compositeRoutes,
  ...collectionRoutes,
];

const VERSIONS = ['58.0', '59.0', '60.0', '61.0', '62.0', '63.0', '64.0', '65.0', '66.0', '67.0'];

export function limitInfo(state: LocalSalesforceState): string {
  return `api-usage=${state.apiUsed}/${state.apiMax}`;
}

/** Builds the handler-side request for a call made with a session (HTTP, or a composite subrequest). */
export function restRequest(
  state: LocalSalesforceState,
  userId: string,
  headers: Record<string, string | undefined>,
  call: SubRequest,
): RestRequest {
  const { version, path, query } = parseRestUrl(call.url, state.apiVersion);
  const merged = { ...headers, ...lowerKeys(call.headers ?? {}) };
  const origin = changeOriginOf(version, merged['sforce-call-options']);
  return {
    state,
    version,
    method: call.method.toUpperCase(),
    path,
    query,
    body: call.body,
    headers: merged,
    userId,
    write: (work) => {
      if (!call.ctx) return state.write(userId, origin, work);
      return work(call.ctx);
    },
    dispatch: (sub) => serve(restRoutes, restRequest(state, userId, merged, sub)),
  };
}

function lowerKeys(headers: Record<string, string>) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function send(reply: FastifyReply, state: LocalSalesforceState, response: RestResponse) {
  reply.header('Sforce-Limit-Info', limitInfo(state));
  for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value);
  reply.code(response.status);
  if (response.status === 204 || response.body === undefined) return reply.send();
  return reply.type('application/json;charset=UTF-8').send(JSON.stringify(response.body));
}

const fail = (reply: FastifyReply, state: LocalSalesforceState, error: SalesforceError) =>
  send(reply, state, { status: error.status, body: error.body() });

export const localSalesforceApi: FastifyPluginAsync<{ state: LocalSalesforceState }> = async (
  app,
  { state },
) => {
  app.get('/services/data', async () => versions(state));
  app.get('/services/data/', async () => versions(state));
  app.route({
    method: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD'],
    url: '/services/data/*',
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      if (!/^\/services\/data\/v\d+\.\d(\/|\?|$)/.test(request.url))
        return send(reply, state, {
          status: 404,
          body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
        });
      const grant = state.accessTokens.get(presentedToken(request));
      if (!grant) return fail(reply, state, invalidSession());
      if (state.apiUsed >= state.apiMax) return fail(reply, state, requestLimitExceeded());
      state.apiUsed += 1;
      if ((request.body as { __malformedJson?: boolean } | undefined)?.__malformedJson)
        return fail(
          reply,
          state,
          new SalesforceError(400, 'JSON_PARSER_ERROR', 'Unexpected character in the request body'),
        );
      const headers = request.headers as Record<string, string | undefined>;
      const call = { method: request.method, url: request.url, body: request.body };
      return send(reply, state, serve(restRoutes, restRequest(state, grant.userId, headers, call)));
    },
  });
};

function versions(state: LocalSalesforceState) {
  return VERSIONS.map((version) => ({
    label: `v${version}`,
    url: `/services/data/v${version}`,
    version,
  })).concat(
    VERSIONS.includes(state.apiVersion)
      ? []
      : [
          {
            label: `v${state.apiVersion}`,
            url: `/services/data/v${state.apiVersion}`,
            version: state.apiVersion,
          },
        ],
  );
}
