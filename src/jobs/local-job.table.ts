import type { ColumnType, Insertable, Selectable } from 'kysely';

export type LocalJobState = 'waiting' | 'active' | 'failed';

/** The in-process runner's queue; a finished job's row is deleted, a failed one is kept for retry. */
export interface LocalJobTable {
  /** The outbox row's id: dispatching the same outbox row twice cannot create two jobs. */
  id: bigint;
  job_name: string;
  queue: string;
  payload: ColumnType<unknown, string, string>;
  state: LocalJobState;
  attempts_made: ColumnType<number, number | undefined, number>;
  run_at: ColumnType<Date, Date | undefined, Date>;
  locked_until: Date | null;
  last_error: string | null;
  created_at: ColumnType<Date, never, never>;
  failed_at: Date | null;
}

export type LocalJobRow = Selectable<LocalJobTable>;
export type NewLocalJobRow = Insertable<LocalJobTable>;
