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
  access_token_expires_at: Date | null;
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
