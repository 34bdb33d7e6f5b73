import type { ColumnType, Insertable, Selectable } from 'kysely';

export type ConnectionStatus = 'connected' | 'disconnected' | 'revoked';

/** A tenant's CRM installation. Tokens are sealed with TOKEN_ENCRYPTION_KEY (see crm-connection.repository.ts). */
export interface CrmConnectionTable {
  tenant_id: string;
  crm_kind: 'hubspot' | 'salesforce';
  /** HubSpot portal (hub) id, Salesforce org id. */
  account_id: string;
  status: ColumnType<ConnectionStatus, ConnectionStatus | undefined, ConnectionStatus>;
  access_token: string | null;
  refresh_token: string | null;
  /** Null when the CRM does not say (Salesforce: the session lasts until it is refused). */
  access_token_expires_at: Date | null;
  /** Salesforce `instance_url`: the org's API host. Null for HubSpot. */
  instance_url: ColumnType<string | null, string | null | undefined, string | null>;
  scopes: ColumnType<string[], string | undefined, string>;
  installed_by: string | null;
  connected_at: ColumnType<Date, Date | undefined, Date>;
  refreshed_at: Date | null;
  disconnected_at: Date | null;
  disconnect_reason: string | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type CrmConnectionRow = Selectable<CrmConnectionTable>;
export type NewCrmConnectionRow = Insertable<CrmConnectionTable>;
