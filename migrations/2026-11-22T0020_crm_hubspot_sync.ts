import { type Kysely, sql } from 'kysely';

// Issue 5's writes out and reconciliation:
// - crm_write_records: what a CRM write made, under the idempotency key of the job that made it
//   (a note per registration change, the deal/company/contact of an approved registration), so a
//   retried job finds its earlier result instead of writing twice.
// - crm_own_writes: the last value we wrote per deal property, so webhook processing can tell our
//   own write coming back (an echo) from a change made in the CRM.
// - crm_sync_cursors: per tenant, the CRM last-modified instant reconciliation has read up to.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('crm_write_records')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('object_type', 'text', (c) => c.notNull())
    .addColumn('object_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('crm_write_records_pkey', ['tenant_id', 'idempotency_key', 'object_type'])
    .execute();

  await db.schema
    .createTable('crm_own_writes')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('crm_object_id', 'text', (c) => c.notNull())
    .addColumn('property', 'text', (c) => c.notNull())
    .addColumn('value', 'text')
    .addColumn('written_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('crm_own_writes_pkey', ['tenant_id', 'crm_object_id', 'property'])
    .execute();

  await db.schema
    .createTable('crm_sync_cursors')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('modified_since', 'timestamptz', (c) => c.notNull())
    .addColumn('last_run_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('crm_sync_cursors').ifExists().execute();
  await db.schema.dropTable('crm_own_writes').ifExists().execute();
  await db.schema.dropTable('crm_write_records').ifExists().execute();
}
