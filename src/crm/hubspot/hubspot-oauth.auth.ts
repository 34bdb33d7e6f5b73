import { Client } from '@hubspot/api-client';
import type { Config } from '../../config.ts';
import { type CrmAuth, type CrmCredentials, type CrmResult, fail, ok } from '../crm-connector.ts';

/**
 * What the app asks for, and only that (marketplace review checks each one): deals, companies and
 * contacts read/write for registrations, conflict checks and notes (notes ride on the objects they
 * are associated with); the deal schema scopes to create our properties and read pipelines;
 * `oauth` is required for every app.
 */
export const HUBSPOT_SCOPES = [
  'oauth',
  'crm.objects.deals.read',
  'crm.objects.deals.write',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.schemas.deals.read',
  'crm.schemas.deals.write',
] as const;

export const HUBSPOT_TOKEN_PATH = '/oauth/v1/token';
export const HUBSPOT_AUTHORIZE_PATH = '/oauth/authorize';

export interface HubspotTokenInfo {
  hubId: string;
  hubDomain: string | null;
  user: string | null;
  scopes: string[];
  appId: string | null;
}

interface SdkError {
  code?: number;
  body?: unknown;
  message?: string;
}

/** HubSpot answers a dead refresh token with 400 and `BAD_REFRESH_TOKEN` (v1) or `invalid_grant`. */
export function isInvalidGrant(status: number | undefined, body: unknown): boolean {
  if (status !== 400 && status !== 401) return false;
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? {});
  return /invalid_grant|BAD_REFRESH_TOKEN/.test(text);
}

function failure(error: unknown): CrmResult<never> {
  const e = error as SdkError;
  const status = typeof e.code === 'number' ? e.code : undefined;
  if (isInvalidGrant(status, e.body)) {
    return fail({
      kind: 'auth',
      status,
      code: 'invalid_grant',
      message: 'HubSpot refused the refresh token',
    });
  }
  if (status === 429)
    return fail({ kind: 'rate_limited', status, message: 'HubSpot rate limit', retryAfterMs: 10_000 });
  if (status === 400) return fail({ kind: 'invalid', status, message: 'HubSpot rejected the OAuth request' });
  if (status === 401 || status === 403)
    return fail({ kind: 'auth', status, message: 'HubSpot refused the credentials' });
  if (status === 404) return fail({ kind: 'not_found', status, message: 'HubSpot does not know this token' });
  return fail({
    kind: 'unavailable',
    ...(status ? { status } : {}),
    message: 'HubSpot OAuth did not answer',
  });
}

/** The HubSpot side of the install: the SDK pointed at HUBSPOT_API_BASE, no SDK retries (we schedule ours). */
export class HubspotAuth implements CrmAuth {
  readonly kind = 'hubspot' as const;
  private readonly client: Client;

  constructor(private readonly config: Config) {
    this.client = new Client({ basePath: config.hubspotApiBase, numberOfApiCallRetries: 0 });
  }

  private get clientId(): string {
    if (!this.config.hubspotClientId) throw new Error('HUBSPOT_CLIENT_ID is not set');
    return this.config.hubspotClientId;
  }

  private get clientSecret(): string {
    if (!this.config.hubspotClientSecret) throw new Error('HUBSPOT_CLIENT_SECRET is not set');
    return this.config.hubspotClientSecret;
  }

  authorizeUrl(input: { redirectUri: string; state: string }): string {
    const url = new URL(`${this.config.hubspotAuthBase}${HUBSPOT_AUTHORIZE_PATH}`);
    url.searchParams.set('client_id', this.clientId);
    url.searchParams.set('redirect_uri', input.redirectUri);
    url.searchParams.set('scope', HUBSPOT_SCOPES.join(' '));
    url.searchParams.set('state', input.state);
    return url.toString();
  }

  async exchangeCode(input: { code: string; redirectUri: string }): Promise<CrmResult<CrmCredentials>> {
    try {
      const token = await this.client.oauth.tokensApi.create(
        'authorization_code',
        input.code,
        input.redirectUri,
        this.clientId,
        this.clientSecret,
      );
      return this.credentialsOf(token.accessToken, token.refreshToken, token.expiresIn);
    } catch (error) {
      return failure(error);
    }
  }

  async refreshCredentials(refreshToken: string): Promise<CrmResult<CrmCredentials>> {
    try {
      const token = await this.client.oauth.tokensApi.create(
        'refresh_token',
        undefined,
        undefined,
        this.clientId,
        this.clientSecret,
        refreshToken,
      );
      // HubSpot may rotate the refresh token; keep the old one only when it sends none.
      return this.credentialsOf(token.accessToken, token.refreshToken || refreshToken, token.expiresIn);
    } catch (error) {
      return failure(error);
    }
  }

  async revoke(credentials: { refreshToken: string }): Promise<CrmResult<void>> {
    try {
      await this.client.oauth.refreshTokensApi.archive(credentials.refreshToken);
      return ok(undefined);
    } catch (error) {
      const result = failure(error);
      // Already gone is what we wanted.
      return !result.ok && result.error.kind === 'not_found' ? ok(undefined) : result;
    }
  }

  /** The portal an access token belongs to (`GET /oauth/v1/access-tokens/:token`). */
  async tokenInfo(accessToken: string): Promise<CrmResult<HubspotTokenInfo>> {
    try {
      const info = await this.client.oauth.accessTokensApi.get(accessToken);
      return ok({
        hubId: String(info.hubId),
        hubDomain: info.hubDomain ?? null,
        user: info.user ?? null,
        scopes: info.scopes ?? [],
        appId: info.appId === undefined || info.appId === null ? null : String(info.appId),
      });
    } catch (error) {
      return failure(error);
    }
  }

  private async credentialsOf(
    accessToken: string,
    refreshToken: string,
    expiresIn: number,
  ): Promise<CrmResult<CrmCredentials>> {
    const info = await this.tokenInfo(accessToken);
    if (!info.ok) return info;
    return ok({
      accessToken,
      refreshToken,
      expiresAt: new Date(Date.now() + expiresIn * 1000),
      accountId: info.value.hubId,
      scopes: info.value.scopes,
      instanceUrl: null,
    });
  }
}

/**
 * Removes the app from the customer's HubSpot account (`DELETE /appinstalls/v3/external-install`,
 * the path `@hubspot/api-client` 13 reaches; HubSpot emails the account's admins).
 */
export async function uninstallHubspotApp(config: Config, accessToken: string): Promise<CrmResult<void>> {
  const client = new Client({ basePath: config.hubspotApiBase, accessToken, numberOfApiCallRetries: 0 });
  try {
    const response = await client.apiRequest({ method: 'DELETE', path: '/appinstalls/v3/external-install' });
    if (response.ok || response.status === 404) return ok(undefined);
    return failure({ code: response.status, body: await response.text() });
  } catch (error) {
    return failure(error);
  }
}
