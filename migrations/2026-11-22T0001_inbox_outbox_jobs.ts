import { type Kysely, sql } from 'kysely';

// The durable spine of DESIGN.md §2: everything that arrives lands in `inbox`; every side effect,
// including every job, leaves through `outbox` in the transaction that caused it; `local_jobs` is
// the queue of the in-process runner used when no Redis is configured.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('inbox')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('source_id', 'text', (col) => col.notNull())
    .addColumn('tenant_id', 'uuid')
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('processed_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addUniqueConstraint('inbox_source_source_id_key', ['source', 'source_id'])
    .execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('job_name', 'text', (col) => col.notNull())
    .addColumn('queue', 'text', (col) => col.notNull())
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('dedup_id', 'text')
    .addColumn('available_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('dispatched_at', 'timestamptz')
    .addUniqueConstraint('outbox_job_name_dedup_id_key', ['job_name', 'dedup_id'])
    .execute();
  await db.schema
    .createIndex('outbox_undispatched_idx')
    .on('outbox')
    .columns(['available_at', 'id'])
    .where(sql.ref('dispatched_at'), 'is', null)
    .execute();

  await db.schema
    .createTable('local_jobs')
    .addColumn('id', 'bigint', (col) => col.primaryKey())
    .addColumn('job_name', 'text', (col) => col.notNull())
    .addColumn('queue', 'text', (col) => col.notNull())
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull().check(sql`state in ('waiting', 'active', 'failed')`))
    .addColumn('attempts_made', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('run_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('failed_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('local_jobs_claim_idx')
    .on('local_jobs')
    .columns(['queue', 'state', 'run_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('local_jobs').execute();
  await db.schema.dropTable('outbox').execute();
  await db.schema.dropTable('inbox').execute();
}
