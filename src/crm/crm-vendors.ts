import type { Db } from '../db/database.ts';
import type { Services } from '../services.ts';
import type { TokenSet } from './crm-connection.repository.ts';
import type { CrmConnectionRow } from './crm-connection.table.ts';
import type { CrmConnector, CrmFailure } from './crm-connector.ts';
import { hubspotConnector } from './hubspot/hubspot-connector.ts';
import { uninstallHubspotApp } from './hubspot/hubspot-oauth.auth.ts';
import { hubspotAuthFor } from './hubspot/hubspot-tokens.ts';
import type { CallPriority } from './salesforce/salesforce-api-allowance.ts';
import { SalesforceAuth } from './salesforce/salesforce-oauth.auth.ts';
import { salesforceConnector } from './salesforce/salesforce-session.ts';

export interface ConnectorOptions {
  /**
   * What the calls are for, where a CRM rations them (Salesforce's daily API allowance):
   * `interactive` when a person waits, `background` for reconciliation and backfills.
   */
  priority?: CallPriority;
}

/**
 * The tenant's CRM connector, by the CRM its tenant row names (HubSpot or Salesforce), or null for
 * a tenant without a CRM. Whether it is still connected is the caller's question (the connector
 * answers `not_connected` when it is not).
 */
export async function crmConnectorFor(
  db: Db,
  services: Services,
  tenantId: string,
  options: ConnectorOptions = {},
): Promise<CrmConnector | null> {
  const tenant = await db
    .selectFrom('tenants')
    .select('crm_kind')
    .where('id', '=', tenantId)
    .executeTakeFirst();
  switch (tenant?.crm_kind) {
    case 'hubspot':
      return hubspotConnector(db, services, tenantId);
    case 'salesforce':
      return salesforceConnector(db, services, tenantId, options);
    default:
      return null;
  }
}

/**
 * Ends our access at the CRM, best effort (our own copy of the tokens is deleted whatever the CRM
 * answers): HubSpot's refresh token is revoked, and with `uninstall` the app removed from the
 * account; Salesforce's refresh token is revoked at the org's host, which ends its sessions too
 * (an org's admin removes the app itself in Setup). Returns what the CRM refused, for the log.
 */
export async function revokeAtCrm(
  services: Services,
  connection: CrmConnectionRow,
  tokens: TokenSet,
  options: { uninstall: boolean },
): Promise<{ step: string; error: CrmFailure }[]> {
  const problems: { step: string; error: CrmFailure }[] = [];
  const { config } = services;
  if (connection.crm_kind === 'hubspot' && config.hubspotClientId) {
    if (options.uninstall) {
      const removed = await uninstallHubspotApp(config, tokens.accessToken);
      if (!removed.ok) problems.push({ step: 'hubspot uninstall', error: removed.error });
    }
    const revoked = await hubspotAuthFor(services).revoke({ refreshToken: tokens.refreshToken });
    if (!revoked.ok) problems.push({ step: 'hubspot refresh token revocation', error: revoked.error });
  }
  if (connection.crm_kind === 'salesforce' && config.salesforceClientId && connection.instance_url) {
    const auth = new SalesforceAuth(config, connection.instance_url);
    const revoked = await auth.revoke({ refreshToken: tokens.refreshToken });
    if (!revoked.ok) problems.push({ step: 'salesforce refresh token revocation', error: revoked.error });
  }
  return problems;
}
