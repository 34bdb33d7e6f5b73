import { createHash, randomBytes } from 'node:crypto';
import jsforce, { type Connection } from 'jsforce';
import type { LocalSalesforce } from './local-salesforce.ts';

/**
 * Test helpers that drive the local Salesforce the way an app does, through `jsforce`: the OAuth
 * web server flow with PKCE (verifier kept by the caller, `useVerifier` off) and a Connection
 * with auto-refresh.
 */
export const REDIRECT_URI = 'http://127.0.0.1:3000/oauth/salesforce/callback';

export function oauth2For(sf: LocalSalesforce, redirectUri = REDIRECT_URI) {
  return new jsforce.OAuth2({
    loginUrl: sf.url,
    clientId: sf.clientId,
    clientSecret: sf.clientSecret,
    redirectUri,
  });
}

export function pkcePair() {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** Follows the authorize redirect (the local org approves at once) and returns the callback's query. */
export async function authorize(
  sf: LocalSalesforce,
  params: Record<string, string>,
): Promise<URLSearchParams> {
  const url = oauth2For(sf).getAuthorizationUrl(params);
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  if (response.status !== 302 || !location) throw new Error(`authorize answered ${response.status}`);
  return new URL(location).searchParams;
}

/** A Connection after the full PKCE flow, API version set explicitly, optional call options. */
export async function connectWithPkce(
  sf: LocalSalesforce,
  options: { version?: string; callOptions?: Record<string, string> } = {},
): Promise<Connection> {
  const { verifier, challenge } = pkcePair();
  const query = await authorize(sf, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'api refresh_token',
    state: 'st',
  });
  const conn = new jsforce.Connection({
    oauth2: oauth2For(sf),
    version: options.version ?? '62.0',
    ...(options.callOptions ? { callOptions: options.callOptions } : {}),
  });
  await conn.authorize(query.get('code')!, { code_verifier: verifier });
  return conn;
}

/** A Connection from tokens issued directly (no browser round trip). */
export function connectWithTokens(
  sf: LocalSalesforce,
  options: { version?: string; callOptions?: Record<string, string> } = {},
): Connection {
  const tokens = sf.issueTokens();
  return new jsforce.Connection({
    oauth2: oauth2For(sf),
    instanceUrl: tokens.instanceUrl,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    version: options.version ?? '62.0',
    ...(options.callOptions ? { callOptions: options.callOptions } : {}),
  });
}
