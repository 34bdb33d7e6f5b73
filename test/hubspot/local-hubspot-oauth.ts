import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AreaOptions } from './local-hubspot.ts';
import type { LocalHubspotState } from './local-hubspot-state.ts';

/**
 * HubSpot's OAuth, as a marketplace app sees it: the authorize page (a form a developer can click
 * through), `POST /oauth/v1/token` for the authorization_code and refresh_token grants (form body,
 * snake_case JSON answer, HubSpot's error bodies), token metadata (`GET /oauth/v1/access-tokens/:t`)
 * and refresh-token revocation (`DELETE /oauth/v1/refresh-tokens/:t`).
 */
export interface LocalOauthApp {
  clientId: string;
  clientSecret: string;
  appId: number;
  /** Seconds an access token lives (HubSpot: 1800). */
  accessTtlSeconds: number;
  /** HubSpot's v1 keeps the refresh token; turn on to exercise rotation. */
  rotateRefreshTokens: boolean;
}

interface RefreshGrant {
  portalId: number;
  scopes: string[];
  user: string;
}

interface OauthMemory {
  app: LocalOauthApp;
  codes: Map<
    string,
    { portalId: number; scopes: string[]; redirectUri: string; user: string; expiresAt: number }
  >;
  refreshTokens: Map<string, RefreshGrant>;
  /** What the token endpoint was asked, for tests (refresh calls under concurrency). */
  metrics: {
    codeExchanges: number;
    refreshCalls: number;
    refreshRefused: number;
    revocations: number;
    uninstalls: number;
  };
}

const memories = new WeakMap<LocalHubspotState, OauthMemory>();

/** The local HubSpot's OAuth memory (registered app, codes, refresh tokens, counters). */
export function localOauth(state: LocalHubspotState): OauthMemory {
  let memory = memories.get(state);
  if (!memory) {
    memory = {
      app: {
        clientId: 'local-client-id',
        clientSecret: 'local-client-secret',
        appId: state.appId,
        accessTtlSeconds: 1800,
        rotateRefreshTokens: false,
      },
      codes: new Map(),
      refreshTokens: new Map(),
      metrics: { codeExchanges: 0, refreshCalls: 0, refreshRefused: 0, revocations: 0, uninstalls: 0 },
    };
    memories.set(state, memory);
  }
  return memory;
}

export function configureLocalOauth(state: LocalHubspotState, app: Partial<LocalOauthApp>): LocalOauthApp {
  const memory = localOauth(state);
  Object.assign(memory.app, app);
  return memory.app;
}

/** What an uninstall does to tokens: every refresh and access token of the portal stops working. */
export function uninstallPortal(state: LocalHubspotState, portalId: number): void {
  const memory = localOauth(state);
  for (const [token, grant] of memory.refreshTokens)
    if (grant.portalId === portalId) memory.refreshTokens.delete(token);
  for (const [token, grant] of state.tokens) if (grant.portalId === portalId) state.tokens.delete(token);
}

/** A refresh token for a portal without the browser dance (tests that start installed). */
export function issueRefreshToken(state: LocalHubspotState, portalId: number, scopes: string[] = []): string {
  const token = `na1-${randomUUID()}`;
  localOauth(state).refreshTokens.set(token, { portalId, scopes, user: 'admin@example.com' });
  state.portal(portalId);
  return token;
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** HubSpot's v1 OAuth errors: `{ status, message, correlationId }` with 400. */
function oauthError(reply: FastifyReply, status: string, message: string) {
  return reply.code(400).send({ status, message, correlationId: randomUUID() });
}

export const localHubspotOauth: FastifyPluginAsync<AreaOptions> = async (app, { state }) => {
  const memory = localOauth(state);
  // HubSpot ignores an empty body announced as JSON (the SDK sends one with DELETE).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.get('/oauth/authorize', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    if (q.client_id !== memory.app.clientId)
      return reply.code(400).type('text/html').send('<h1>Unknown client_id</h1>');
    if (!q.redirect_uri) return reply.code(400).type('text/html').send('<h1>redirect_uri is required</h1>');
    const hidden = ['client_id', 'redirect_uri', 'scope', 'state', 'optional_scope']
      .filter((name) => q[name] !== undefined)
      .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(q[name] as string)}">`)
      .join('');
    const scopes = (q.scope ?? '').split(/[ +]/).filter(Boolean);
    return reply
      .type('text/html')
      .send(`<!doctype html><html><head><title>Connect app - Local HubSpot</title></head>
<body><h1>Connect this app to a HubSpot account</h1>
<p>It asks for: ${scopes.map((s) => `<code>${escapeHtml(s)}</code>`).join(', ')}</p>
<form method="post" action="/oauth/authorize">${hidden}
<label>Account (portal id) <input name="portal_id" value="62515" pattern="[0-9]+"></label>
<label>Your email <input name="user" value="admin@example.com"></label>
<button type="submit">Connect app</button></form></body></html>`);
  });

  app.post('/oauth/authorize', async (request, reply) => {
    const form = request.body as Record<string, string | undefined>;
    if (form.client_id !== memory.app.clientId || !form.redirect_uri) {
      return reply.code(400).type('text/html').send('<h1>Invalid authorization request</h1>');
    }
    const portalId = Number(form.portal_id ?? '62515');
    state.portal(portalId);
    const code = randomUUID();
    memory.codes.set(code, {
      portalId,
      scopes: (form.scope ?? '').split(/[ +]/).filter(Boolean),
      redirectUri: form.redirect_uri,
      user: form.user ?? 'admin@example.com',
      expiresAt: Date.now() + 10 * 60_000,
    });
    const target = new URL(form.redirect_uri);
    target.searchParams.set('code', code);
    if (form.state !== undefined) target.searchParams.set('state', form.state);
    return reply.redirect(target.toString(), 302);
  });

  app.post('/oauth/v1/token', async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    if (form.client_id !== memory.app.clientId)
      return oauthError(reply, 'BAD_CLIENT_ID', 'missing or unknown client id');
    if (form.client_secret !== memory.app.clientSecret) {
      return oauthError(reply, 'BAD_CLIENT_SECRET', 'missing or invalid client secret');
    }
    let grant: RefreshGrant;
    let refreshToken: string;
    if (form.grant_type === 'authorization_code') {
      memory.metrics.codeExchanges += 1;
      const code = form.code ? memory.codes.get(form.code) : undefined;
      // Codes are single use.
      if (form.code) memory.codes.delete(form.code);
      if (!code || code.expiresAt < Date.now())
        return oauthError(reply, 'BAD_AUTH_CODE', 'missing or unknown auth code');
      if (form.redirect_uri !== code.redirectUri) {
        return oauthError(reply, 'BAD_REDIRECT_URI', 'redirect_uri does not match the authorization request');
      }
      grant = { portalId: code.portalId, scopes: code.scopes, user: code.user };
      refreshToken = `na1-${randomUUID()}`;
      memory.refreshTokens.set(refreshToken, grant);
    } else if (form.grant_type === 'refresh_token') {
      memory.metrics.refreshCalls += 1;
      const known = form.refresh_token ? memory.refreshTokens.get(form.refresh_token) : undefined;
      if (!known || !form.refresh_token) {
        memory.metrics.refreshRefused += 1;
        return oauthError(reply, 'BAD_REFRESH_TOKEN', 'missing or invalid refresh token');
      }
      grant = known;
      refreshToken = form.refresh_token;
      if (memory.app.rotateRefreshTokens) {
        memory.refreshTokens.delete(refreshToken);
        refreshToken = `na1-${randomUUID()}`;
        memory.refreshTokens.set(refreshToken, grant);
      }
    } else {
      return oauthError(reply, 'BAD_GRANT_TYPE', 'grant_type must be authorization_code or refresh_token');
    }
    const accessToken = state.issueToken(grant.portalId, memory.app.accessTtlSeconds * 1000, grant.scopes);
    users.set(accessToken, grant.user);
    return {
      token_type: 'bearer',
      refresh_token: refreshToken,
      access_token: accessToken,
      expires_in: memory.app.accessTtlSeconds,
    };
  });

  const users = new Map<string, string>();
  app.get('/oauth/v1/access-tokens/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    const grant = state.tokens.get(token);
    if (!grant || grant.expiresAt <= Date.now()) {
      return reply
        .code(404)
        .send({ status: 'error', message: 'Token not found', correlationId: randomUUID() });
    }
    return {
      token,
      user: users.get(token) ?? 'admin@example.com',
      hub_domain: `portal-${grant.portalId}.hubspot.local`,
      scopes: grant.scopes,
      hub_id: grant.portalId,
      app_id: memory.app.appId,
      expires_in: Math.max(0, Math.floor((grant.expiresAt - Date.now()) / 1000)),
      user_id: 1001,
      token_type: 'access',
    };
  });

  // Self-uninstall: the app leaves the account, and with it every token of that account.
  app.delete('/appinstalls/v3/external-install', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const grant = header.startsWith('Bearer ') ? state.tokens.get(header.slice(7)) : undefined;
    if (!grant)
      return reply.code(401).send({
        status: 'error',
        message: 'Authentication credentials not found',
        correlationId: randomUUID(),
        category: 'INVALID_AUTHENTICATION',
      });
    uninstallPortal(state, grant.portalId);
    memory.metrics.uninstalls += 1;
    return reply.code(204).send();
  });

  app.delete('/oauth/v1/refresh-tokens/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    memory.metrics.revocations += 1;
    if (!memory.refreshTokens.delete(token)) {
      return reply
        .code(404)
        .send({ status: 'error', message: 'Refresh token not found', correlationId: randomUUID() });
    }
    return reply.code(204).send();
  });
};
