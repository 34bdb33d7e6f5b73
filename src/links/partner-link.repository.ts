import { sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import type { Cursor } from '../http/pagination.ts';
import type { PartnerStatus } from '../partners/partner.table.ts';
import type { LinkStateValue } from './partner-link.schemas.ts';
import type { PartnerLinkRow } from './partner-link.table.ts';

/*
 * partner_links.created_at comes from the database's now(), in microseconds, while a cursor holds a
 * JavaScript Date (milliseconds). Lists therefore order, compare and return the value truncated to
 * milliseconds, so a cursor always names exactly the row it came from.
 */
const createdMs = sql<Date>`date_trunc('milliseconds', partner_links.created_at)`;

const LINK_COLUMNS = [
  'partner_links.id',
  'partner_links.tenant_id',
  'partner_links.contact_id',
  'partner_links.purpose',
  'partner_links.program_id',
  'partner_links.expires_at',
  'partner_links.revoked_at',
  'partner_links.created_by',
  'partner_links.last_used_at',
] as const;

export interface LinkContact {
  id: string;
  name: string;
  email: string;
  partner_id: string;
  partner_name: string;
  partner_status: PartnerStatus;
}

/** The tenant's contact with its partner, or undefined. */
export async function findLinkContact(
  db: DbOrTx,
  tenantId: string,
  contactId: string,
): Promise<LinkContact | undefined> {
  if (!isUuid(contactId)) return undefined;
  return db
    .selectFrom('partner_contacts')
    .innerJoin('partners', (join) =>
      join
        .onRef('partners.id', '=', 'partner_contacts.partner_id')
        .onRef('partners.tenant_id', '=', 'partner_contacts.tenant_id'),
    )
    .select([
      'partner_contacts.id',
      'partner_contacts.name',
      'partner_contacts.email',
      'partner_contacts.partner_id',
      'partners.name as partner_name',
      'partners.status as partner_status',
    ])
    .where('partner_contacts.tenant_id', '=', tenantId)
    .where('partner_contacts.id', '=', contactId)
    .executeTakeFirst();
}

/** The tenant's link; `lock` holds it for the caller's transaction. */
export async function findLink(
  db: DbOrTx,
  tenantId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<PartnerLinkRow | undefined> {
  if (!isUuid(id)) return undefined;
  const query = db
    .selectFrom('partner_links')
    .select(LINK_COLUMNS)
    .select(createdMs.as('created_at'))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id);
  return (options.lock ? query.forUpdate() : query).executeTakeFirst();
}

export async function listLinks(
  db: DbOrTx,
  tenantId: string,
  options: { contactId?: string; state?: LinkStateValue; now: Date; limit: number; cursor?: Cursor },
): Promise<PartnerLinkRow[]> {
  let query = db
    .selectFrom('partner_links')
    .select(LINK_COLUMNS)
    .select(createdMs.as('created_at'))
    .where('tenant_id', '=', tenantId);
  if (options.contactId) query = query.where('contact_id', '=', options.contactId);
  if (options.state === 'revoked') query = query.where('revoked_at', 'is not', null);
  if (options.state === 'active') {
    query = query.where('revoked_at', 'is', null).where('expires_at', '>', options.now);
  }
  if (options.state === 'expired') {
    query = query.where('revoked_at', 'is', null).where('expires_at', '<=', options.now);
  }
  const { cursor } = options;
  if (cursor) {
    const at = new Date(cursor.at);
    query = query.where((eb) =>
      eb.or([eb(createdMs, '<', at), eb.and([eb(createdMs, '=', at), eb('id', '<', cursor.id)])]),
    );
  }
  return query
    .orderBy(createdMs, 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit + 1)
    .execute();
}

/** Who a partner link speaks for, scoped to the link's own tenant, contact and (optional) program. */
export async function findPortalIdentity(
  db: DbOrTx,
  actor: { tenantId: string; contactId: string; linkId: string; programId: string | null },
) {
  const row = await db
    .selectFrom('partner_links')
    .innerJoin('partner_contacts', (join) =>
      join
        .onRef('partner_contacts.id', '=', 'partner_links.contact_id')
        .onRef('partner_contacts.tenant_id', '=', 'partner_links.tenant_id'),
    )
    .innerJoin('partners', (join) =>
      join
        .onRef('partners.id', '=', 'partner_contacts.partner_id')
        .onRef('partners.tenant_id', '=', 'partner_contacts.tenant_id'),
    )
    .leftJoin('programs', (join) =>
      join
        .onRef('programs.id', '=', 'partner_links.program_id')
        .onRef('programs.tenant_id', '=', 'partner_links.tenant_id'),
    )
    .select([
      'partner_links.purpose',
      'partner_links.expires_at',
      'partner_contacts.id as contact_id',
      'partner_contacts.name as contact_name',
      'partner_contacts.email as contact_email',
      'partners.id as partner_id',
      'partners.name as partner_name',
      'programs.id as program_id',
      'programs.name as program_name',
    ])
    .where('partner_links.tenant_id', '=', actor.tenantId)
    .where('partner_links.id', '=', actor.linkId)
    .where('partner_links.contact_id', '=', actor.contactId)
    .executeTakeFirst();
  return row;
}
