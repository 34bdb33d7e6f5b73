import type { Db, DbOrTx, Tx } from '../../db/database.ts';
import type { Services } from '../../services.ts';
import {
  findConnection,
  lockConnection,
  openTokens,
  saveRefreshedTokens,
} from '../crm-connection.repository.ts';
import { type CrmAuth, type CrmResult, fail, ok } from '../crm-connector.ts';
import { markDisconnected } from '../crm-disconnect.ts';
import { HubspotAuth } from './hubspot-oauth.auth.ts';

/**
 * Refresh this long before expiry: a job that starts with a token about to expire still finishes
 * its calls with it, and HubSpot says a 401 is no signal to refresh.
 */
export const REFRESH_AHEAD_MS = 5 * 60_000;

export interface HubspotAccess {
  accessToken: string;
  portalId: string;
}

/** Tests and embedders may swap the HubSpot OAuth client; the default talks to HUBSPOT_API_BASE. */
const authByConfig = new WeakMap<object, CrmAuth>();
export function hubspotAuthFor(services: Services): CrmAuth & Pick<HubspotAuth, 'tokenInfo'> {
  let auth = authByConfig.get(services.config);
  if (!auth) {
    auth = new HubspotAuth(services.config);
    authByConfig.set(services.config, auth);
  }
  return auth as HubspotAuth;
}

const notConnected = (message: string) => fail({ kind: 'not_connected', message });

/**
 * A valid access token for the tenant's portal. Refreshes ahead of expiry; across all processes one
 * refresh per portal at a time: the refresher holds the connection row's lock, and whoever waited
 * on it re-reads the row and finds the fresh token. A refresh refused with `invalid_grant` means the
 * app was uninstalled or access revoked: the tenant is marked disconnected (see crm-disconnect.ts).
 */
export async function getAccessToken(
  db: DbOrTx,
  services: Services,
  tenantId: string,
): Promise<CrmResult<HubspotAccess>> {
  const key = services.secrets.tokenEncryptionKey;
  const usable = async (conn: DbOrTx) => {
    const row = await findConnection(conn, tenantId);
    if (row?.crm_kind !== 'hubspot' || row.status !== 'connected') return { state: 'none' as const };
    const tokens = openTokens(key, row);
    if (!tokens) return { state: 'none' as const };
    const fresh =
      tokens.expiresAt !== null &&
      tokens.expiresAt.getTime() - services.clock.now().getTime() > REFRESH_AHEAD_MS;
    return { state: fresh ? ('fresh' as const) : ('stale' as const), tokens, portalId: row.account_id };
  };

  const first = await usable(db);
  if (first.state === 'none') return notConnected('The tenant is not connected to HubSpot');
  if (first.state === 'fresh') return ok({ accessToken: first.tokens.accessToken, portalId: first.portalId });

  let refusal: CrmResult<never> | undefined;
  // Inside a caller's transaction (an inbox processor), the lock is taken there and held to its commit
  // (Kysely cannot nest transactions, and PGlite has one connection). Should that transaction roll
  // back, only the new access token is lost: HubSpot's refresh tokens do not rotate, so the retry
  // refreshes again.
  const inTransaction = <T>(work: (tx: Tx) => Promise<T>) =>
    db.isTransaction ? work(db as Tx) : (db as Db).transaction().execute(work);
  const result = await inTransaction(async (tx): Promise<CrmResult<HubspotAccess>> => {
    const locked = await lockConnection(tx, tenantId);
    if (!locked) return notConnected('The tenant is not connected to HubSpot');
    // Another process may have refreshed while this one waited for the lock.
    const again = await usable(tx);
    if (again.state === 'none') return notConnected('The tenant is not connected to HubSpot');
    if (again.state === 'fresh')
      return ok({ accessToken: again.tokens.accessToken, portalId: again.portalId });

    const refreshed = await hubspotAuthFor(services).refreshCredentials(again.tokens.refreshToken);
    if (!refreshed.ok) {
      if (refreshed.error.code === 'invalid_grant') {
        await markDisconnected(tx, tenantId, 'refresh_refused', {
          actorType: 'system',
          source: 'hubspot.tokens',
        });
        refusal = refreshed;
      }
      return refreshed;
    }
    const { accessToken, refreshToken, expiresAt } = refreshed.value;
    // A new token pair (the refresh token may rotate) replaces the old one in one statement.
    await saveRefreshedTokens(tx, key, tenantId, {
      accessToken,
      refreshToken,
      expiresAt: expiresAt ?? new Date(services.clock.now().getTime() + 30 * 60_000),
    });
    return ok({ accessToken, portalId: again.portalId });
  });
  return refusal ?? result;
}
