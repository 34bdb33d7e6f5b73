import type { Connection } from 'jsforce';
import type { Db } from '../../db/database.ts';
import type { Services } from '../../services.ts';
import type { CrmFailure, CrmResult } from '../crm-connector.ts';
import { ok } from '../crm-connector.ts';
import { jsforce } from './jsforce-lazy.ts';
import { allowanceStore, type CallPriority } from './salesforce-api-allowance.ts';
import { type OrgConnection, SalesforceCaller } from './salesforce-caller.ts';
import { SalesforceConnector } from './salesforce-connector.ts';
import { refreshSession, storedSession } from './salesforce-tokens.ts';

/** Refreshes one connection may ask for in a minute; more means Salesforce refuses every new session. */
const MAX_REFRESHES_PER_MINUTE = 3;

/**
 * A jsforce Connection for the tenant's org: its instance URL, the stored session, the API version
 * from SALESFORCE_API_VERSION, and `Sforce-Call-Options: client=<SALESFORCE_CALL_CLIENT>` on every
 * call (change events of our writes carry it in `changeOrigin`, so they are skipped).
 *
 * Salesforce gives no expiry: a call refused with 401 INVALID_SESSION_ID makes jsforce call our
 * refresh function (once per connection however many calls were refused), which refreshes once per
 * org across processes and persists the rotated refresh token (salesforce-tokens.ts). The refresh
 * token never enters the Connection. A refused refresh (`invalid_grant`) disconnects the tenant and
 * the failing call rejects.
 *
 * Pass the root database, not a transaction: a refresh commits on its own (with PGlite's single
 * connection, a call made while a transaction is open would wait for it forever).
 */
export async function salesforceConnection(
  db: Db,
  services: Services,
  tenantId: string,
): Promise<CrmResult<Connection>> {
  const opened = await openOrgConnection(db, services, tenantId);
  return opened.ok ? ok(opened.value.conn) : opened;
}

/** The connection with its org id, and why its last refresh failed (for the connector's results). */
export async function openOrgConnection(
  db: Db,
  services: Services,
  tenantId: string,
): Promise<CrmResult<OrgConnection>> {
  const session = await storedSession(db, services, tenantId);
  if (!session.ok) return session;
  const { config } = services;
  let failure: CrmFailure | undefined;
  let recent: number[] = [];
  const conn: Connection = new (jsforce().Connection)({
    instanceUrl: session.value.instanceUrl,
    accessToken: session.value.accessToken,
    version: config.salesforceApiVersion,
    callOptions: { client: config.salesforceCallClient },
    refreshFn: (stale, callback) => {
      const now = Date.now();
      recent = [...recent.filter((at) => at > now - 60_000), now];
      if (recent.length > MAX_REFRESHES_PER_MINUTE) {
        failure = { kind: 'auth', message: 'Salesforce refuses every new session of this org' };
        callback(new Error(failure.message));
        return;
      }
      refreshSession(db, services, tenantId, stale.accessToken ?? null).then(
        (refreshed) => {
          if (!refreshed.ok) {
            failure = refreshed.error;
            callback(new Error(`${refreshed.error.kind}: ${refreshed.error.message}`));
            return;
          }
          failure = undefined;
          const { instanceUrl, accessToken } = refreshed.value;
          stale._establish({ instanceUrl, accessToken });
          callback(undefined, accessToken);
        },
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    },
  });
  return ok({ conn, orgId: session.value.orgId, refreshFailure: () => failure });
}

/**
 * The tenant's org as the one CRM interface. `priority` spends the org's daily API allowance
 * (salesforce-api-allowance.ts): `interactive` for a person waiting, `background` for
 * reconciliation and polling, writes out in between (the default).
 */
export function salesforceConnector(
  db: Db,
  services: Services,
  tenantId: string,
  options: { priority?: CallPriority } = {},
): SalesforceConnector {
  const caller = new SalesforceCaller({
    open: () => openOrgConnection(db, services, tenantId),
    allowance: () => allowanceStore(services.config),
    priority: options.priority ?? 'normal',
    now: () => Date.now(),
  });
  return new SalesforceConnector(db, tenantId, caller);
}
