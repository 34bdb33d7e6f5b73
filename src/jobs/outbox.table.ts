import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface OutboxTable {
  id: Generated<bigint>;
  job_name: string;
  queue: string;
  payload: ColumnType<unknown, string, string>;
  dedup_id: string | null;
  available_at: ColumnType<Date, Date | undefined, Date>;
  created_at: ColumnType<Date, never, never>;
  dispatched_at: Date | null;
}

export type OutboxRow = Selectable<OutboxTable>;
export type NewOutboxRow = Insertable<OutboxTable>;
