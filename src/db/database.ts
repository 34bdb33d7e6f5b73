import type { Kysely, Transaction } from 'kysely';
import type { InboxTable } from '../inbox/inbox.table.ts';
import type { LocalJobTable } from '../jobs/local-job.table.ts';
import type { OutboxTable } from '../jobs/outbox.table.ts';

/** Every table of the schema, as Kysely sees it. Features add their tables here. */
export interface Database {
  inbox: InboxTable;
  outbox: OutboxTable;
  local_jobs: LocalJobTable;
}

/** What a query function takes as its first argument: the database or an open transaction. */
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
export type DbOrTx = Kysely<Database> | Transaction<Database>;
