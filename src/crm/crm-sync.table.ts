import type { ColumnType } from 'kysely';

/** What a CRM write made, under its job's idempotency key (a retry finds it instead of writing twice). */
export interface CrmWriteRecordTable {
  tenant_id: string;
  idempotency_key: string;
  /** `deal`, `company`, `contact`, `note`. */
  object_type: string;
  object_id: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}

/** The last value we wrote to a CRM object's property: its webhook echo is skipped. */
export interface CrmOwnWriteTable {
  tenant_id: string;
  crm_object_id: string;
  property: string;
  value: string | null;
  written_at: ColumnType<Date, Date | undefined, Date>;
}

/** How far reconciliation has read the CRM's deals, by their last-modified instant. */
export interface CrmSyncCursorTable {
  tenant_id: string;
  modified_since: Date;
  last_run_at: Date | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}
