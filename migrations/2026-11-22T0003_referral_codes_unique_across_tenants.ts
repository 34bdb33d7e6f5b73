import type { Kysely } from 'kysely';

// A referral link (`/r/<code>`) and a code typed into the public form carry no tenant, so a code
// must name one enrolment across all tenants, not only within one. The index also serves that
// lookup, which the per-tenant constraint (tenant_id first) cannot.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('enrolments_referral_code_global_key')
    .on('enrolments')
    .column('referral_code')
    .unique()
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('enrolments_referral_code_global_key').execute();
}
