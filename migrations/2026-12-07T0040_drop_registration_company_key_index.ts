import { type Kysely, sql } from 'kysely';

// Conflict detection finds similar company keys through the trigram index (since 2026-11-22T0015);
// nothing looks a key up by equality any more, so the btree index on (tenant_id, company_key) of
// active claims only cost every submission one more index entry to write.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index registrations_active_company_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index registrations_active_company_idx on registrations (tenant_id, company_key)
    where status in ('submitted', 'approved')`.execute(db);
}
