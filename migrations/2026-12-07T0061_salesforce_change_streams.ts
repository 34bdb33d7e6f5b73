import { type Kysely, sql } from 'kysely';

// Issue 7 (Salesforce changes in): one row per Salesforce tenant saying how its opportunity changes
// reach us and how far they have.
// - mode: 'cdc' (a long-lived CometD subscription to /data/OpportunityChangeEvent) or 'polling'
//   (SystemModstamp queries on a schedule); mode_reason says why (the admin, or CDC refused).
// - replay_id: the replay id of the last change event stored in the inbox; a restart subscribes
//   from it, so nothing is lost and the inbox's unique source id makes a redelivery a no-op.
// - polled_until: the polling cursor (the newest SystemModstamp read).
// - lease_owner / lease_expires_at: the one process holding the tenant's stream, renewed while it
//   runs; another process takes it over only once it has expired.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('salesforce_change_streams')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('mode', 'text', (c) => c.notNull().defaultTo('cdc').check(sql`mode in ('cdc', 'polling')`))
    .addColumn('mode_reason', 'text')
    .addColumn('replay_id', 'bigint')
    .addColumn('replayed_at', 'timestamptz')
    .addColumn('polled_until', 'timestamptz')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('salesforce_change_streams').ifExists().execute();
}
