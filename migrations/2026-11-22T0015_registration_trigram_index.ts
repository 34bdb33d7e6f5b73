import { type Kysely, sql } from 'kysely';

// Conflict detection finds active claims with a similar company key by pg_trgm's similarity
// (`company_key % $key`), which this trigram index answers without reading the rows that merely
// share a common word ("analytics"); it replaces the index on the key's words, which only that
// pre-filter used. pg_trgm is a trusted extension: a database owner may create it without superuser.
// fastupdate is off because submissions insert and search all the time: a pending list would be
// scanned by every search and flushed by an unlucky insert.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);
  await sql`create index registrations_active_company_trgm_idx on registrations
    using gin (company_key gin_trgm_ops) with (fastupdate = off)
    where status in ('submitted', 'approved')`.execute(db);
  await sql`drop index registrations_active_company_words_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index registrations_active_company_words_idx on registrations
    using gin ((string_to_array(company_key, ' ')))
    where status in ('submitted', 'approved')`.execute(db);
  await sql`drop index registrations_active_company_trgm_idx`.execute(db);
  await sql`drop extension if exists pg_trgm`.execute(db);
}
