import type { ColumnType } from 'kysely';

/** The first response to a write carrying an Idempotency-Key, replayed for a repeat of it. */
export interface IdempotencyKeyTable {
  tenant_id: string;
  key: string;
  method: string;
  path: string;
  /** SHA-256 of the request body: the same key with another body is refused. */
  request_hash: string;
  status_code: number;
  response: ColumnType<unknown, string, string>;
  /** Set again when a key past its window is used afresh. */
  created_at: ColumnType<Date, never, Date>;
}
