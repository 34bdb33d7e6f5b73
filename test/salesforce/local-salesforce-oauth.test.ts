import { createHmac } from 'node:crypto';
import jsforce from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalSalesforce, startLocalSalesforce } from './local-salesforce.ts';
import {
  authorize,
  connectWithPkce,
  connectWithTokens,
  oauth2For,
  pkcePair,
} from './local-salesforce-client.ts';

let sf: LocalSalesforce;
afterEach(async () => {
  await sf?.close();
});

async function codeFor(challenge: string, scope = 'api refresh_token') {
  const query = await authorize(sf, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope,
    state: 'xyz',
  });
  expect(query.get('state')).toBe('xyz');
  return query.get('code')!;
}

describe('local Salesforce OAuth (web server flow with PKCE)', () => {
  it('exchanges a code with the right verifier for tokens shaped as Salesforce answers', async () => {
    sf = await startLocalSalesforce();
    const { verifier, challenge } = pkcePair();
    const code = await codeFor(challenge);
    const res = (await oauth2For(sf).requestToken(code, { code_verifier: verifier })) as unknown as Record<
      string,
      string
    >;
    expect(res.instance_url).toBe(sf.url);
    expect(res.id).toBe(`${sf.url}/id/${sf.orgId}/${sf.userId}`);
    expect(res.token_type).toBe('Bearer');
    expect(res.scope).toBe('api refresh_token');
    expect(res.refresh_token).toBeTruthy();
    expect(res).not.toHaveProperty('expires_in');
    const expected = createHmac('sha256', sf.clientSecret)
      .update(res.id! + res.issued_at!)
      .digest('base64');
    expect(res.signature).toBe(expected);
    expect(sf.orgId).toMatch(/^00D[a-zA-Z0-9]{15}$/);
  });

  it('refuses a wrong verifier, a reused code and an unknown client with invalid_grant / invalid_client_id', async () => {
    sf = await startLocalSalesforce();
    const { verifier, challenge } = pkcePair();
    const code = await codeFor(challenge);
    await expect(
      oauth2For(sf).requestToken(code, { code_verifier: pkcePair().verifier }),
    ).rejects.toMatchObject({
      name: 'invalid_grant',
      message: 'invalid code verifier',
    });
    // The code was spent by the failed attempt, as Salesforce does.
    await expect(oauth2For(sf).requestToken(code, { code_verifier: verifier })).rejects.toMatchObject({
      name: 'invalid_grant',
    });
    const other = new jsforce.OAuth2({
      loginUrl: sf.url,
      clientId: 'nope',
      clientSecret: 'x',
      redirectUri: 'http://x/cb',
    });
    await expect(other.requestToken('c', { code_verifier: verifier })).rejects.toMatchObject({
      name: 'invalid_client_id',
    });
  });

  it('sends the browser back with an error when the code challenge is missing', async () => {
    sf = await startLocalSalesforce();
    const query = await authorize(sf, { state: 's1' });
    expect(query.get('error')).toBe('invalid_request');
    expect(query.get('code')).toBeNull();
    expect(query.get('state')).toBe('s1');
  });

  it('refuses a redirect_uri that is not one of the app callback URLs', async () => {
    const callback = 'https://partnerloop.example/oauth/salesforce/callback';
    sf = await startLocalSalesforce({ callbackUrls: [callback] });
    const challenge = { code_challenge: pkcePair().challenge };
    const refused = await fetch(oauth2For(sf).getAuthorizationUrl(challenge), { redirect: 'manual' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('redirect_uri_mismatch');
    const allowed = await fetch(oauth2For(sf, callback).getAuthorizationUrl(challenge), {
      redirect: 'manual',
    });
    expect(allowed.status).toBe(302);
    expect(allowed.headers.get('location')!.startsWith(`${callback}?code=`)).toBe(true);
  });

  it('rotates the refresh token on every refresh and refuses the old one', async () => {
    sf = await startLocalSalesforce();
    const { verifier, challenge } = pkcePair();
    const first = (await oauth2For(sf).requestToken(await codeFor(challenge), {
      code_verifier: verifier,
    })) as unknown as Record<string, string>;
    const second = (await oauth2For(sf).refreshToken(first.refresh_token!)) as unknown as Record<
      string,
      string
    >;
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    await expect(oauth2For(sf).refreshToken(first.refresh_token!)).rejects.toMatchObject({
      name: 'invalid_grant',
    });
    await expect(oauth2For(sf).refreshToken(second.refresh_token!)).resolves.toHaveProperty('access_token');
    expect(sf.stats().tokenRefreshes).toBe(3);
  });

  it('keeps the refresh token when rotation is off (no refresh_token in the answer)', async () => {
    sf = await startLocalSalesforce({ rotateRefreshTokens: false });
    const { refreshToken } = sf.issueTokens();
    const res = (await oauth2For(sf).refreshToken(refreshToken)) as unknown as Record<string, string>;
    expect(res).not.toHaveProperty('refresh_token');
    await expect(oauth2For(sf).refreshToken(refreshToken)).resolves.toHaveProperty('access_token');
  });

  it('revokes a refresh token and the access tokens issued from it', async () => {
    sf = await startLocalSalesforce();
    const conn = await connectWithPkce(sf);
    await expect(conn.query('SELECT Id FROM Account')).resolves.toMatchObject({ totalSize: 0 });
    await oauth2For(sf).revokeToken(conn.refreshToken!);
    await expect(oauth2For(sf).refreshToken(conn.refreshToken!)).rejects.toMatchObject({
      name: 'invalid_grant',
    });
    // The access token issued with it was revoked too: the next call refreshes, and that fails.
    await expect(conn.query('SELECT Id FROM Account')).rejects.toThrow(
      'Unable to refresh session due to: expired access/refresh token',
    );
    await expect(oauth2For(sf).revokeToken('not-a-token')).rejects.toThrow();
  });

  it('answers identity and userinfo for a valid token, Bad_OAuth_Token otherwise', async () => {
    sf = await startLocalSalesforce();
    const conn = await connectWithPkce(sf);
    const identity = await conn.identity();
    expect(identity).toMatchObject({ user_id: sf.userId, organization_id: sf.orgId, active: true });
    const info = await conn.request<{ sub: string; organization_id: string }>('/services/oauth2/userinfo');
    expect(info).toMatchObject({ sub: `${sf.url}/id/${sf.orgId}/${sf.userId}`, organization_id: sf.orgId });
    const bad = await fetch(`${sf.url}/services/oauth2/userinfo`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(bad.status).toBe(403);
    expect(await bad.text()).toBe('Bad_OAuth_Token');
  });

  it('expired access tokens answer INVALID_SESSION_ID and jsforce refreshes once and retries', async () => {
    sf = await startLocalSalesforce();
    const conn = connectWithTokens(sf);
    const refreshed: string[] = [];
    conn.on('refresh', (accessToken: string) => refreshed.push(accessToken));
    await conn.query('SELECT Id FROM Account');
    const raw = await fetch(`${sf.url}/services/data/v62.0/limits`, {
      headers: { authorization: `Bearer ${conn.accessToken}` },
    });
    expect(raw.status).toBe(200);
    sf.expireAccessTokens();
    const expired = await fetch(`${sf.url}/services/data/v62.0/limits`, {
      headers: { authorization: `Bearer ${conn.accessToken}` },
    });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
    await expect(conn.query('SELECT Id FROM Account')).resolves.toMatchObject({ done: true });
    expect(refreshed).toEqual([conn.accessToken]);
    expect(sf.stats().tokenRefreshes).toBe(1);
  });

  it('revokeAll turns every refresh into invalid_grant', async () => {
    sf = await startLocalSalesforce();
    const conn = connectWithTokens(sf);
    sf.revokeAll();
    await expect(conn.query('SELECT Id FROM Account')).rejects.toThrow(
      'Unable to refresh session due to: expired access/refresh token',
    );
    await expect(oauth2For(sf).refreshToken(conn.refreshToken!)).rejects.toMatchObject({
      name: 'invalid_grant',
    });
  });
});
