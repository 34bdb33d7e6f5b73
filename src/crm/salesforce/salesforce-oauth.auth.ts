import { createHash, randomBytes } from 'node:crypto';
import type { OAuth2, TokenResponse } from 'jsforce';
import type { Config } from '../../config.ts';
import { type CrmAuth, type CrmCredentials, type CrmResult, fail, ok } from '../crm-connector.ts';
import { jsforce } from './jsforce-lazy.ts';

/**
 * What the app asks for: the REST API (`api`) and a refresh token (`refresh_token`) so jobs run
 * without the admin. Nothing else: no `full`, no `web`.
 */
export const SALESFORCE_SCOPES = ['api', 'refresh_token'] as const;

/** A PKCE pair (RFC 7636): 64 random bytes as the verifier, its S256 challenge for the authorize URL. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(64).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The org and user of a token answer, from its identity URL `…/id/<orgId>/<userId>`. */
export function identityOf(idUrl: string): { orgId: string; userId: string } | undefined {
  const m = /\/id\/(00D[A-Za-z0-9]{12,15})\/(005[A-Za-z0-9]{12,15})\/?$/.exec(idUrl);
  return m ? { orgId: m[1]!, userId: m[2]! } : undefined;
}

/** jsforce throws OAuth errors as an `Error` named after the `error` field (`invalid_grant`, …). */
export function oauthFailure(error: unknown, what: string): CrmResult<never> {
  const e = error as { name?: string; message?: string };
  const code = typeof e?.name === 'string' ? e.name : undefined;
  if (code === 'invalid_grant')
    return fail({ kind: 'auth', code, message: `Salesforce refused the ${what}: ${e.message ?? code}` });
  if (code && /^ERROR_HTTP_(5\d\d)$/.test(code))
    return fail({ kind: 'unavailable', code, message: `Salesforce OAuth did not answer the ${what}` });
  if (code && /^(invalid_client|invalid_client_id|unauthorized_client)$/.test(code))
    return fail({ kind: 'auth', code, message: `Salesforce refused our client credentials (${code})` });
  if (code && /^[a-z_]+$/.test(code) && code !== 'error')
    return fail({ kind: 'invalid', code, message: `Salesforce refused the ${what}: ${e.message ?? code}` });
  return fail({
    kind: 'unavailable',
    message: `Salesforce OAuth unreachable: ${e?.message ?? String(error)}`,
  });
}

/**
 * The Salesforce side of the install, on jsforce's OAuth2 with `useVerifier` off: jsforce's own
 * verifier lives in one OAuth2 instance (one process), while our callback may land on another
 * replica, so the verifier is ours, stored with the state (crm_oauth_states) and passed to the
 * token request. The login host is production's or a sandbox's; refresh and revoke go to the org's
 * own host (`instance_url`, its My Domain), which serves both kinds of org.
 */
export class SalesforceAuth implements CrmAuth {
  readonly kind = 'salesforce' as const;

  constructor(
    private readonly config: Config,
    /** SALESFORCE_LOGIN_URL or SALESFORCE_SANDBOX_LOGIN_URL for the install; the instance for refresh/revoke. */
    private readonly host: string,
    private readonly redirectUri?: string,
  ) {}

  private oauth2(): OAuth2 {
    if (!this.config.salesforceClientId) throw new Error('SALESFORCE_CLIENT_ID is not set');
    return new (jsforce().OAuth2)({
      loginUrl: this.host,
      clientId: this.config.salesforceClientId,
      clientSecret: this.config.salesforceClientSecret,
      ...(this.redirectUri ? { redirectUri: this.redirectUri } : {}),
      useVerifier: false,
    });
  }

  authorizeUrl(input: { redirectUri: string; state: string; codeChallenge?: string }): string {
    if (!input.codeChallenge) throw new Error('a Salesforce install needs a PKCE code challenge');
    const oauth2 = new SalesforceAuth(this.config, this.host, input.redirectUri).oauth2();
    return oauth2.getAuthorizationUrl({
      scope: SALESFORCE_SCOPES.join(' '),
      state: input.state,
      code_challenge: input.codeChallenge,
      code_challenge_method: 'S256',
      // The admin sees what is granted even when the app was approved before.
      prompt: 'consent',
    });
  }

  async exchangeCode(input: {
    code: string;
    redirectUri: string;
    codeVerifier?: string;
  }): Promise<CrmResult<CrmCredentials>> {
    if (!input.codeVerifier) return fail({ kind: 'invalid', message: 'the PKCE code verifier is missing' });
    const oauth2 = new SalesforceAuth(this.config, this.host, input.redirectUri).oauth2();
    try {
      const token = await oauth2.requestToken(input.code, { code_verifier: input.codeVerifier });
      if (!token.refresh_token)
        return fail({
          kind: 'invalid',
          message: 'Salesforce sent no refresh token: the app needs the refresh_token scope',
        });
      return this.credentialsOf(token, token.refresh_token);
    } catch (error) {
      return oauthFailure(error, 'authorization code');
    }
  }

  /** With refresh-token rotation Salesforce answers a new refresh token; without it, the old one stays. */
  async refreshCredentials(refreshToken: string): Promise<CrmResult<CrmCredentials>> {
    try {
      const token = await this.oauth2().refreshToken(refreshToken);
      return this.credentialsOf(token, token.refresh_token ?? refreshToken);
    } catch (error) {
      return oauthFailure(error, 'refresh token');
    }
  }

  async revoke(credentials: { refreshToken: string }): Promise<CrmResult<void>> {
    try {
      await this.oauth2().revokeToken(credentials.refreshToken);
      return ok(undefined);
    } catch (error) {
      const result = oauthFailure(error, 'revocation');
      // Already revoked (or never valid) is what we wanted.
      return !result.ok && ['unsupported_token_type', 'invalid_token'].includes(result.error.code ?? '')
        ? ok(undefined)
        : result;
    }
  }

  private credentialsOf(token: TokenResponse, refreshToken: string): CrmResult<CrmCredentials> {
    const identity = identityOf(token.id);
    if (!identity)
      return fail({
        kind: 'invalid',
        message: `Salesforce sent an identity URL we cannot read: ${token.id}`,
      });
    return ok({
      accessToken: token.access_token,
      refreshToken,
      // Salesforce says nothing of the session's lifetime (the org's timeout setting decides).
      expiresAt: null,
      accountId: identity.orgId,
      scopes: (token.scope ?? '').split(' ').filter(Boolean),
      instanceUrl: token.instance_url,
      userId: identity.userId,
    });
  }
}
