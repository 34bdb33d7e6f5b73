import { type Kysely, sql } from 'kysely';

// Issue 7 (Salesforce install and tokens):
// - crm_connections.instance_url: a Salesforce org's API host (`instance_url` of the token answer),
//   the base of every REST call; HubSpot rows leave it null.
// - crm_oauth_states: an install in progress, keyed by the OAuth `state` nonce. It holds the PKCE
//   code verifier (sealed) and the login host (production or sandbox) until the callback, which
//   may land on any replica, takes the row (single use) before it expires.
// - crm_stage_mappings.is_won: what the CRM says of a closed stage when it says it (Salesforce
//   OpportunityStage.IsWon); HubSpot rows leave it null and are read by probability.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('crm_connections').addColumn('instance_url', 'text').execute();

  await db.schema
    .createTable('crm_oauth_states')
    .addColumn('state', 'text', (c) => c.primaryKey())
    .addColumn('crm_kind', 'text', (c) => c.notNull().check(sql`crm_kind in ('hubspot', 'salesforce')`))
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('login_url', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('crm_oauth_states_expires_idx')
    .on('crm_oauth_states')
    .column('expires_at')
    .execute();

  await db.schema.alterTable('crm_stage_mappings').addColumn('is_won', 'boolean').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('crm_stage_mappings').dropColumn('is_won').execute();
  await db.schema.dropTable('crm_oauth_states').execute();
  await db.schema.alterTable('crm_connections').dropColumn('instance_url').execute();
}
