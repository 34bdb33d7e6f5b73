import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type CrmKind = 'hubspot' | 'salesforce' | 'none';
export type TenantStatus = 'active' | 'disconnected' | 'uninstalled';

export interface TenantTable {
  id: Generated<string>;
  name: string;
  crm_kind: ColumnType<CrmKind, CrmKind | undefined, CrmKind>;
  crm_account_id: string | null;
  status: ColumnType<TenantStatus, TenantStatus | undefined, TenantStatus>;
  /** IANA zone: periods and windows are calendar periods here. */
  time_zone: ColumnType<string, string | undefined, string>;
  currency: ColumnType<string, string | undefined, string>;
  settings: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type TenantRow = Selectable<TenantTable>;
export type NewTenantRow = Insertable<TenantTable>;
export type TenantUpdate = Updateable<TenantTable>;

export type StaffRole = 'admin' | 'program_manager' | 'sales_rep';
export const STAFF_ROLES: StaffRole[] = ['admin', 'program_manager', 'sales_rep'];

export interface ApiKeyTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  role: StaffRole;
  /** SHA-256 of the key: the key itself is shown once and never stored. */
  key_hash: string;
  /** The first characters of the key, to tell keys apart in lists. */
  key_prefix: string;
  created_by: string | null;
  created_at: ColumnType<Date, never, never>;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export type ApiKeyRow = Selectable<ApiKeyTable>;
