import { type Kysely, sql } from 'kysely';

// Issue 5 (install, tokens, webhooks in):
// - crm_connections: one per tenant, the CRM installation's OAuth tokens, sealed (AES-256-GCM) so
//   the table never holds a usable token; unique on (crm_kind, account_id) so a portal maps to one
//   tenant. The refresh of a portal's tokens is serialised by locking this row.
// - crm_stage_mappings: each pipeline stage with the category HubSpot's metadata implies and the
//   admin's override; a re-read of pipelines updates labels and the derived category, never the
//   override.
// - an index finding the unprocessed HubSpot events of one object, so a job processes an object's
//   events together and in order.

const now = (col: any) => col.notNull().defaultTo(sql`now()`);
const CATEGORY = sql`in ('open', 'won', 'lost')`;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('crm_connections')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('crm_kind', 'text', (c) => c.notNull().check(sql`crm_kind in ('hubspot', 'salesforce')`))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('connected').check(sql`status in ('connected', 'disconnected', 'revoked')`),
    )
    .addColumn('access_token', 'text')
    .addColumn('refresh_token', 'text')
    .addColumn('access_token_expires_at', 'timestamptz')
    .addColumn('scopes', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('installed_by', 'text')
    .addColumn('connected_at', 'timestamptz', now)
    .addColumn('refreshed_at', 'timestamptz')
    .addColumn('disconnected_at', 'timestamptz')
    .addColumn('disconnect_reason', 'text')
    .addColumn('updated_at', 'timestamptz', now)
    .addUniqueConstraint('crm_connections_account_key', ['crm_kind', 'account_id'])
    .execute();

  await db.schema
    .createTable('crm_stage_mappings')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('pipeline_id', 'text', (c) => c.notNull())
    .addColumn('pipeline_label', 'text', (c) => c.notNull())
    .addColumn('stage_id', 'text', (c) => c.notNull())
    .addColumn('stage_label', 'text', (c) => c.notNull())
    .addColumn('display_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_closed', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('probability', 'text')
    .addColumn('derived_category', 'text', (c) => c.notNull().check(sql`derived_category ${CATEGORY}`))
    .addColumn('override_category', 'text', (c) => c.check(sql`override_category ${CATEGORY}`))
    .addColumn('archived', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('crm_stage_mappings_pkey', ['tenant_id', 'pipeline_id', 'stage_id'])
    .execute();

  await sql`create index inbox_hubspot_pending_object_idx on inbox (tenant_id, (payload->>'objectId'))
    where source = 'hubspot' and processed_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists inbox_hubspot_pending_object_idx`.execute(db);
  await db.schema.dropTable('crm_stage_mappings').execute();
  await db.schema.dropTable('crm_connections').execute();
}
