import { sql } from 'kysely';
import { open, seal } from '../crypto/secret-box.ts';
import type { DbOrTx, Tx } from '../db/database.ts';
import type { ConnectionStatus, CrmConnectionRow } from './crm-connection.table.ts';

export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** Null when the CRM gives no expiry (Salesforce): refreshed when a call is refused. */
  expiresAt: Date | null;
}

/** Binds each sealed token to its tenant and role, so a value copied to another row does not open. */
const context = (tenantId: string, which: 'access' | 'refresh') => `crm_connections:${tenantId}:${which}`;

export function sealTokens(key: Buffer, tenantId: string, tokens: TokenSet) {
  return {
    access_token: seal(key, tokens.accessToken, context(tenantId, 'access')),
    refresh_token: seal(key, tokens.refreshToken, context(tenantId, 'refresh')),
    access_token_expires_at: tokens.expiresAt,
  };
}

export function openTokens(key: Buffer, row: CrmConnectionRow): TokenSet | undefined {
  if (!row.access_token || !row.refresh_token) return undefined;
  return {
    accessToken: open(key, row.access_token, context(row.tenant_id, 'access')),
    refreshToken: open(key, row.refresh_token, context(row.tenant_id, 'refresh')),
    expiresAt: row.access_token_expires_at,
  };
}

export async function findConnection(db: DbOrTx, tenantId: string): Promise<CrmConnectionRow | undefined> {
  return db.selectFrom('crm_connections').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
}

/** Locks the connection row: whoever holds it is the one process refreshing this portal's tokens. */
export async function lockConnection(tx: Tx, tenantId: string): Promise<CrmConnectionRow | undefined> {
  return tx
    .selectFrom('crm_connections')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .forUpdate()
    .executeTakeFirst();
}

export async function upsertConnection(
  tx: Tx,
  key: Buffer,
  input: {
    tenantId: string;
    crmKind: 'hubspot' | 'salesforce';
    accountId: string;
    tokens: TokenSet;
    /** Salesforce `instance_url`. */
    instanceUrl?: string | null;
    scopes: string[];
    installedBy: string | null;
  },
): Promise<void> {
  const values = {
    ...sealTokens(key, input.tenantId, input.tokens),
    status: 'connected' as ConnectionStatus,
    scopes: JSON.stringify(input.scopes),
    installed_by: input.installedBy,
    instance_url: input.instanceUrl ?? null,
    refreshed_at: null,
    disconnected_at: null,
    disconnect_reason: null,
    updated_at: sql<Date>`now()`,
  };
  await tx
    .insertInto('crm_connections')
    .values({
      tenant_id: input.tenantId,
      crm_kind: input.crmKind,
      account_id: input.accountId,
      ...values,
      connected_at: sql<Date>`now()`,
    })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ ...values, connected_at: sql<Date>`now()` }))
    .execute();
}

/**
 * Saves a refreshed token pair in one statement: the rotated refresh token is never half-written.
 * Salesforce may move an org to another instance: its `instance_url` comes with the pair.
 */
export async function saveRefreshedTokens(
  tx: Tx,
  key: Buffer,
  tenantId: string,
  tokens: TokenSet,
  instanceUrl?: string,
) {
  await tx
    .updateTable('crm_connections')
    .set({
      ...sealTokens(key, tenantId, tokens),
      ...(instanceUrl ? { instance_url: instanceUrl } : {}),
      refreshed_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
    })
    .where('tenant_id', '=', tenantId)
    .execute();
}

/** Tenants by HubSpot portal id, for routing webhook events. */
export async function tenantsByPortal(db: DbOrTx, portalIds: string[]): Promise<Map<string, string>> {
  if (portalIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('tenants')
    .select(['id', 'crm_account_id'])
    .where('crm_kind', '=', 'hubspot')
    .where('crm_account_id', 'in', portalIds)
    .execute();
  return new Map(rows.map((r) => [r.crm_account_id as string, r.id]));
}
