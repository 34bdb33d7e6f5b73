import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { LocalSalesforceState } from './local-salesforce-state.ts';

/**
 * Salesforce's OAuth 2.0 web server flow for an External Client App that requires PKCE:
 * `/services/oauth2/authorize` approves at once (302 to `redirect_uri` with `code` and `state`),
 * `/services/oauth2/token` (authorization_code with the S256 `code_verifier` check, refresh_token
 * with rotation), `/services/oauth2/revoke`, the identity URL `/id/<org>/<user>` and
 * `/services/oauth2/userinfo`. Token answers carry no `expires_in`, as Salesforce's do.
 */
interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  expiresAt: number;
}

const CODE_TTL_MS = 15 * 60_000;

function oauthError(reply: FastifyReply, error: string, description: string, status = 400) {
  return reply.code(status).send({ error, error_description: description });
}

/** The access token a request presents: `Authorization: Bearer|OAuth <t>` or `?oauth_token=`. */
export function presentedToken(request: FastifyRequest): string {
  const header = request.headers.authorization ?? '';
  const m = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header);
  if (m) return m[1]!.trim();
  return (request.query as Record<string, string | undefined>)?.oauth_token ?? '';
}

export function identityUrl(state: LocalSalesforceState, userId = state.userId): string {
  return `${state.url}/id/${state.orgId}/${userId}`;
}

function tokenResponse(
  state: LocalSalesforceState,
  accessToken: string,
  scope: string,
  refreshToken?: string,
) {
  const id = identityUrl(state);
  const issuedAt = String(Date.now());
  const signature = createHmac('sha256', state.clientSecret)
    .update(id + issuedAt)
    .digest('base64');
  return {
    access_token: accessToken,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    signature,
    scope,
    instance_url: state.url,
    id,
    token_type: 'Bearer',
    issued_at: issuedAt,
  };
}

function identity(state: LocalSalesforceState, userId: string) {
  const user = state.store.table('User').get(userId)!;
  const rest = `${state.url}/services/data/v{version}/`;
  return {
    id: identityUrl(state, userId),
    asserted_user: true,
    user_id: userId,
    organization_id: state.orgId,
    username: user.Username,
    nick_name: String(user.Username).split('@')[0],
    display_name: user.Name,
    email: user.Username,
    email_verified: true,
    first_name: user.FirstName,
    last_name: user.LastName,
    timezone: 'Europe/London',
    active: true,
    user_type: 'STANDARD',
    language: 'en_US',
    locale: 'en_GB',
    utcOffset: 0,
    last_modified_date: user.LastModifiedDate,
    is_app_installed: true,
    urls: {
      rest,
      sobjects: `${rest}sobjects/`,
      query: `${rest}query/`,
      limits: `${rest}limits/`,
      custom_domain: state.url,
    },
  };
}

export const localSalesforceOauth: FastifyPluginAsync<{ state: LocalSalesforceState }> = async (
  app,
  { state },
) => {
  const codes = new Map<string, PendingCode>();

  app.get('/services/oauth2/authorize', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    if (q.client_id !== state.clientId)
      return reply
        .code(400)
        .type('text/html')
        .send('<h1>error=invalid_client_id</h1><p>client identifier invalid</p>');
    if (!q.redirect_uri || (state.callbackUrls && !state.callbackUrls.includes(q.redirect_uri)))
      return reply
        .code(400)
        .type('text/html')
        .send('<h1>error=redirect_uri_mismatch</h1><p>redirect_uri must match configuration</p>');
    const target = new URL(q.redirect_uri);
    const fail = (error: string, description: string) => {
      target.searchParams.set('error', error);
      target.searchParams.set('error_description', description);
      if (q.state !== undefined) target.searchParams.set('state', q.state);
      return reply.redirect(target.toString(), 302);
    };
    if (q.response_type !== 'code') return fail('unsupported_response_type', 'response type not supported');
    if (!q.code_challenge) return fail('invalid_request', 'missing required code challenge');
    if ((q.code_challenge_method ?? 'S256') !== 'S256')
      return fail('invalid_request', 'invalid code challenge method');
    const code = `aPrx${randomBytes(24).toString('base64')}`;
    codes.set(code, {
      clientId: q.client_id,
      redirectUri: q.redirect_uri,
      challenge: q.code_challenge,
      scope: q.scope ?? 'api refresh_token',
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    target.searchParams.set('code', code);
    if (q.state !== undefined) target.searchParams.set('state', q.state);
    return reply.redirect(target.toString(), 302);
  });

  app.post('/services/oauth2/token', async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    if (form.client_id !== state.clientId)
      return oauthError(reply, 'invalid_client_id', 'client identifier invalid');
    if (form.client_secret !== undefined && form.client_secret !== state.clientSecret)
      return oauthError(reply, 'invalid_client', 'invalid client credentials');
    if (form.grant_type === 'authorization_code') {
      const pending = form.code ? codes.get(form.code) : undefined;
      if (form.code) codes.delete(form.code);
      if (!pending || pending.expiresAt < Date.now())
        return oauthError(reply, 'invalid_grant', 'expired authorization code');
      if (form.redirect_uri !== pending.redirectUri)
        return oauthError(reply, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
      const computed = createHash('sha256')
        .update(form.code_verifier ?? '')
        .digest('base64url');
      if (!form.code_verifier || computed !== pending.challenge)
        return oauthError(reply, 'invalid_grant', 'invalid code verifier');
      const withRefresh = /\b(refresh_token|offline_access)\b/.test(pending.scope);
      const issued = state.issueTokens(pending.scope);
      if (!withRefresh) state.refreshTokens.delete(issued.refreshToken);
      return tokenResponse(
        state,
        issued.accessToken,
        pending.scope,
        withRefresh ? issued.refreshToken : undefined,
      );
    }
    if (form.grant_type === 'refresh_token') {
      state.stats.tokenRefreshes += 1;
      if (form.client_secret === undefined)
        return oauthError(reply, 'invalid_client', 'client secret required');
      const grant = form.refresh_token ? state.refreshTokens.get(form.refresh_token) : undefined;
      if (!grant) return oauthError(reply, 'invalid_grant', 'expired access/refresh token');
      let refreshToken = form.refresh_token!;
      if (state.rotateRefreshTokens) {
        state.refreshTokens.delete(refreshToken);
        refreshToken = state.issueRefreshToken(grant.userId, grant.scope);
      }
      const accessToken = state.issueAccessToken(grant.userId, refreshToken, grant.scope);
      return tokenResponse(
        state,
        accessToken,
        grant.scope,
        state.rotateRefreshTokens ? refreshToken : undefined,
      );
    }
    return oauthError(reply, 'unsupported_grant_type', 'grant type not supported');
  });

  const revoke = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = { ...(request.query as object), ...((request.body as object) ?? {}) } as Record<
      string,
      string
    >;
    const token = params.token ?? '';
    if (state.refreshTokens.has(token)) state.revokeRefreshToken(token);
    else if (state.accessTokens.has(token)) {
      state.accessTokens.delete(token);
      state.emit('sessions-ended');
    } else return oauthError(reply, 'unsupported_token_type', 'this token type is not supported');
    return reply.code(200).send('');
  };
  app.post('/services/oauth2/revoke', revoke);
  app.get('/services/oauth2/revoke', revoke);

  const identityOf = (request: FastifyRequest) => state.accessTokens.get(presentedToken(request)) ?? null;

  app.get('/id/:orgId/:userId', async (request, reply) => {
    const grant = identityOf(request);
    if (!grant) return reply.code(403).type('text/plain').send('Bad_OAuth_Token');
    const { orgId, userId } = request.params as { orgId: string; userId: string };
    if (orgId !== state.orgId || !state.store.table('User').has(userId))
      return reply.code(404).type('text/plain').send('Bad_Id');
    return identity(state, userId);
  });

  app.get('/services/oauth2/userinfo', async (request, reply) => {
    const grant = identityOf(request);
    if (!grant) return reply.code(403).type('text/plain').send('Bad_OAuth_Token');
    const who = identity(state, grant.userId);
    return {
      sub: who.id,
      user_id: who.user_id,
      organization_id: who.organization_id,
      preferred_username: who.username,
      nickname: who.nick_name,
      name: who.display_name,
      email: who.email,
      email_verified: true,
      given_name: who.first_name,
      family_name: who.last_name,
      zoneinfo: who.timezone,
      active: true,
      user_type: who.user_type,
      language: who.language,
      locale: who.locale,
      utcOffset: 0,
      updated_at: who.last_modified_date,
      urls: who.urls,
    };
  });
};
