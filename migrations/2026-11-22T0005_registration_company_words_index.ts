import { type Kysely, sql } from 'kysely';

// Conflict detection looks for active claims whose company key shares a word with the new one
// (`string_to_array(company_key, ' ') && …`). Without this index that condition scans every
// registration of every tenant, and the planner cannot combine the domain and email indexes with it.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index registrations_active_company_words_idx on registrations
    using gin ((string_to_array(company_key, ' ')))
    where status in ('submitted', 'approved')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index registrations_active_company_words_idx`.execute(db);
}
