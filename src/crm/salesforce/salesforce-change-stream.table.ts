import type { ColumnType, Selectable } from 'kysely';

export type ChangeCaptureMode = 'cdc' | 'polling';

/** How a Salesforce tenant's opportunity changes reach us, and how far they have (one row per tenant). */
export interface SalesforceChangeStreamTable {
  tenant_id: string;
  mode: ColumnType<ChangeCaptureMode, ChangeCaptureMode | undefined, ChangeCaptureMode>;
  /** Why the mode is what it is: the admin chose it, or CDC was refused for Opportunity. */
  mode_reason: string | null;
  /** The replay id of the last change event stored in the inbox. */
  replay_id: ColumnType<bigint | null, string | bigint | null | undefined, string | bigint | null>;
  replayed_at: Date | null;
  /** Polling: the newest SystemModstamp read. */
  polled_until: Date | null;
  /** The process holding the tenant's stream, until `lease_expires_at`. */
  lease_owner: string | null;
  lease_expires_at: Date | null;
  last_error: string | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type SalesforceChangeStreamRow = Selectable<SalesforceChangeStreamTable>;
