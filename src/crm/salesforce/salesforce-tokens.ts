import type { Db, DbOrTx } from '../../db/database.ts';
import type { Services } from '../../services.ts';
import {
  findConnection,
  lockConnection,
  openTokens,
  saveRefreshedTokens,
} from '../crm-connection.repository.ts';
import type { CrmConnectionRow } from '../crm-connection.table.ts';
import { type CrmResult, fail, ok } from '../crm-connector.ts';
import { markDisconnected } from '../crm-disconnect.ts';
import { SalesforceAuth } from './salesforce-oauth.auth.ts';

/** What a REST call needs: the org's host and its current session. */
export interface SalesforceSession {
  accessToken: string;
  instanceUrl: string;
  orgId: string;
}

const notConnected = () =>
  fail({ kind: 'not_connected', message: 'The tenant is not connected to Salesforce' });

function sessionOf(key: Buffer, row: CrmConnectionRow | undefined) {
  if (row?.crm_kind !== 'salesforce' || row.status !== 'connected' || !row.instance_url) return undefined;
  const tokens = openTokens(key, row);
  if (!tokens) return undefined;
  return {
    tokens,
    session: { accessToken: tokens.accessToken, instanceUrl: row.instance_url, orgId: row.account_id },
  };
}

/** The stored session of the tenant's org; Salesforce gives no expiry, so it is used until refused. */
export async function storedSession(
  db: DbOrTx,
  services: Services,
  tenantId: string,
): Promise<CrmResult<SalesforceSession>> {
  const found = sessionOf(services.secrets.tokenEncryptionKey, await findConnection(db, tenantId));
  return found ? ok(found.session) : notConnected();
}

/**
 * A new session after Salesforce refused `staleAccessToken` (401 INVALID_SESSION_ID). One refresh
 * per org at a time across every process: the refresher holds the connection row's lock for the
 * token call and the save, and whoever waited on the lock re-reads the row; a session other than
 * the refused one means a concurrent refresher already got it, and it is used as is (with refresh
 * token rotation a second refresh would spend the new refresh token for nothing, or race it).
 * The rotated refresh token is saved with its access token in one statement. A refresh refused with
 * `invalid_grant` (revoked, expired, app uninstalled) marks the tenant disconnected: its jobs stop
 * and its admins are emailed (markDisconnected).
 */
export async function refreshSession(
  db: Db,
  services: Services,
  tenantId: string,
  staleAccessToken: string | null,
): Promise<CrmResult<SalesforceSession>> {
  // A rotated refresh token rolled back with a caller's transaction would be lost for good (the
  // old one is already spent), so the refresh commits on its own.
  if (db.isTransaction) throw new Error('refreshSession needs the root database, not a transaction');
  const key = services.secrets.tokenEncryptionKey;
  return db.transaction().execute(async (tx): Promise<CrmResult<SalesforceSession>> => {
    const found = sessionOf(key, await lockConnection(tx, tenantId));
    if (!found) return notConnected();
    if (found.session.accessToken !== staleAccessToken) return ok(found.session);

    const auth = new SalesforceAuth(services.config, found.session.instanceUrl);
    const refreshed = await auth.refreshCredentials(found.tokens.refreshToken);
    if (!refreshed.ok) {
      if (refreshed.error.code === 'invalid_grant') {
        await markDisconnected(tx, tenantId, 'refresh_refused', {
          actorType: 'system',
          source: 'salesforce.tokens',
        });
      }
      return refreshed;
    }
    const { accessToken, refreshToken, instanceUrl } = refreshed.value;
    const host = instanceUrl ?? found.session.instanceUrl;
    await saveRefreshedTokens(tx, key, tenantId, { accessToken, refreshToken, expiresAt: null }, host);
    return ok({ accessToken, instanceUrl: host, orgId: found.session.orgId });
  });
}
