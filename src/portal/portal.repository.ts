import { sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';
import type { Cursor } from '../http/pagination.ts';
import { partnerSubtreeQuery } from '../partners/partner.repository.ts';
import type { RegistrationRow } from '../registrations/registration.table.ts';

/** Who a partner link belongs to, for greeting them by name. */
export async function findLinkHolder(
  db: DbOrTx,
  tenantId: string,
  contactId: string,
): Promise<{ contactName: string; partnerName: string } | undefined> {
  return db
    .selectFrom('partner_contacts')
    .innerJoin('partners', (join) =>
      join
        .onRef('partners.id', '=', 'partner_contacts.partner_id')
        .onRef('partners.tenant_id', '=', 'partner_contacts.tenant_id'),
    )
    .select(['partner_contacts.name as contactName', 'partners.name as partnerName'])
    .where('partner_contacts.tenant_id', '=', tenantId)
    .where('partner_contacts.id', '=', contactId)
    .executeTakeFirst();
}

/**
 * The programs a partner is actively enrolled in, for a registration link that names no program:
 * with exactly one, the link's form is for that one.
 */
export async function activeEnrolmentProgramIds(
  db: DbOrTx,
  tenantId: string,
  partnerId: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('enrolments')
    .innerJoin('programs', (join) =>
      join
        .onRef('programs.id', '=', 'enrolments.program_id')
        .onRef('programs.tenant_id', '=', 'enrolments.tenant_id'),
    )
    .select('enrolments.program_id')
    .where('enrolments.tenant_id', '=', tenantId)
    .where('enrolments.partner_id', '=', partnerId)
    .where('enrolments.status', '=', 'active')
    .where('programs.status', '=', 'active')
    .execute();
  return rows.map((row) => row.program_id);
}

export type ReferralListRow = Pick<
  RegistrationRow,
  'id' | 'company_name' | 'status' | 'check_outcome' | 'protected_until' | 'created_at'
> & { partner_name: string };

/**
 * One page (plus one row) of the registrations of `rootId`'s partner and every partner below it,
 * newest first. The subtree is a sub-select of this very statement, so a contact can never see a
 * registration above or beside its partner, whatever the page asks for.
 */
export async function listSubtreeRegistrations(
  db: DbOrTx,
  tenantId: string,
  rootId: string,
  page: { limit: number; after?: Cursor | undefined },
): Promise<ReferralListRow[]> {
  let query = db
    .selectFrom('registrations')
    .innerJoin('partners', (join) =>
      join
        .onRef('partners.id', '=', 'registrations.partner_id')
        .onRef('partners.tenant_id', '=', 'registrations.tenant_id'),
    )
    .select([
      'registrations.id',
      'registrations.company_name',
      'registrations.status',
      'registrations.check_outcome',
      'registrations.protected_until',
      'registrations.created_at',
      'partners.name as partner_name',
    ])
    .where('registrations.tenant_id', '=', tenantId)
    .where('registrations.partner_id', 'in', partnerSubtreeQuery(db, tenantId, rootId));
  const after = page.after;
  if (after) {
    // Compared at millisecond precision, the precision of the cursor, whoever wrote created_at.
    const at = new Date(after.at);
    const created = sql<Date>`date_trunc('milliseconds', registrations.created_at)`;
    query = query.where((eb) =>
      eb.or([eb(created, '<', at), eb.and([eb(created, '=', at), eb('registrations.id', '<', after.id)])]),
    );
  }
  return query
    .orderBy(sql`date_trunc('milliseconds', registrations.created_at)`, 'desc')
    .orderBy('registrations.id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

/**
 * A registration made through the shared referral form, by id alone: the caller has already
 * verified the receipt signature over this id, which only the submitter was given.
 */
export async function findReferralReceipt(db: DbOrTx, id: string): Promise<RegistrationRow | undefined> {
  return db
    .selectFrom('registrations')
    .selectAll()
    .where('id', '=', id)
    .where('source', '=', 'referral_code')
    .executeTakeFirst();
}
