import type { DbOrTx } from '../db/database.ts';
import { afterCursor, type PageRequest, pageKey } from './partner.repository.ts';
import type { PartnerContactRow } from './partner.table.ts';

export interface NewContact {
  name: string;
  email: string;
  role?: string | null | undefined;
}

export async function insertContact(
  db: DbOrTx,
  tenantId: string,
  partnerId: string,
  input: NewContact,
  now: Date,
): Promise<PartnerContactRow> {
  return db
    .insertInto('partner_contacts')
    .values({
      tenant_id: tenantId,
      partner_id: partnerId,
      name: input.name,
      email: input.email.toLowerCase(),
      role: input.role ?? null,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findContact(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<PartnerContactRow | undefined> {
  return db
    .selectFrom('partner_contacts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findContactByEmail(
  db: DbOrTx,
  tenantId: string,
  partnerId: string,
  email: string,
): Promise<PartnerContactRow | undefined> {
  return db
    .selectFrom('partner_contacts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('partner_id', '=', partnerId)
    .where('email', '=', email.toLowerCase())
    .executeTakeFirst();
}

/** A partner's contacts newest first; up to limit + 1 rows. */
export async function listContacts(
  db: DbOrTx,
  tenantId: string,
  partnerId: string,
  page: PageRequest,
): Promise<PartnerContactRow[]> {
  let query = db
    .selectFrom('partner_contacts')
    .selectAll()
    .where('partner_contacts.tenant_id', '=', tenantId)
    .where('partner_contacts.partner_id', '=', partnerId);
  if (page.cursor) query = query.where(afterCursor('partner_contacts', page.cursor));
  return query
    .orderBy(pageKey('partner_contacts'), 'desc')
    .orderBy('partner_contacts.id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export async function updateContact(
  db: DbOrTx,
  tenantId: string,
  id: string,
  changes: { name?: string | undefined; email?: string | undefined; role?: string | null | undefined },
): Promise<PartnerContactRow | undefined> {
  const set = {
    ...(changes.name !== undefined ? { name: changes.name } : {}),
    ...(changes.email !== undefined ? { email: changes.email.toLowerCase() } : {}),
    ...(changes.role !== undefined ? { role: changes.role } : {}),
  };
  if (Object.keys(set).length === 0) return findContact(db, tenantId, id);
  return db
    .updateTable('partner_contacts')
    .set(set)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes a contact (its partner links go with it, by the foreign key's cascade). */
export async function deleteContact(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<PartnerContactRow | undefined> {
  return db
    .deleteFrom('partner_contacts')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}
