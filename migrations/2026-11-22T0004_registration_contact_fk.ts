import { type Kysely, sql } from 'kysely';

// A registration remembers the partner contact who submitted it; deleting that contact keeps the
// registration and forgets the person (only contact_id is set to null, never tenant_id).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table registrations add constraint registrations_contact_fk
    foreign key (tenant_id, contact_id) references partner_contacts (tenant_id, id)
    on delete set null (contact_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table registrations drop constraint registrations_contact_fk`.execute(db);
}
