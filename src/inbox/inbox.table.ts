import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface InboxTable {
  id: Generated<bigint>;
  /** Who sent it: 'hubspot', 'salesforce', 'email', … */
  source: string;
  /** The sender's own id for it, unique within the source: a redelivery is recognised and dropped. */
  source_id: string;
  tenant_id: string | null;
  payload: ColumnType<unknown, string, string>;
  received_at: ColumnType<Date, never, never>;
  processed_at: Date | null;
  outcome: string | null;
}

export type InboxRow = Selectable<InboxTable>;
export type NewInboxRow = Insertable<InboxTable>;
