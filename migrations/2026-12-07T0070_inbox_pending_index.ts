import { type Kysely, sql } from 'kysely';

// A CRM inbox job takes, besides its own event, the tenant's oldest other pending events of its
// source, to record them in one batch (recordDealEvents): this index serves "a tenant's pending
// events of one source in arrival order" without reading them all.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index inbox_pending_idx on inbox (source, tenant_id, id) where processed_at is null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index inbox_pending_idx`.execute(db);
}
