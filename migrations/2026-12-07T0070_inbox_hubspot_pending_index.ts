import { type Kysely, sql } from 'kysely';

// A HubSpot inbox job takes, besides its own event and its object's, the tenant's oldest pending
// property changes of deals already mirrored here, to record them in one batch (recordDealEvents):
// this index serves "the tenant's pending HubSpot events in arrival order" without reading them all.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index inbox_hubspot_pending_idx on inbox (tenant_id, id)
    where source = 'hubspot' and processed_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index inbox_hubspot_pending_idx`.execute(db);
}
