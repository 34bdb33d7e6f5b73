import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';
import type { LinkPurpose, PartnerLinkRow } from './partner-link.table.ts';

/*
 * A link token is `<link id>.<signature>`: the signature (HMAC-SHA256 with LINK_SIGNING_KEY) makes a
 * token impossible to guess or forge without a database lookup, and the stored row makes it
 * expiring, single-purpose and revocable.
 */

function sign(key: Buffer, linkId: string): string {
  return createHmac('sha256', key).update(`partner-link:${linkId}`).digest('base64url');
}

export function linkToken(key: Buffer, linkId: string): string {
  return `${linkId}.${sign(key, linkId)}`;
}

/** The link id of a well-signed token, or undefined. Says nothing about expiry or revocation. */
export function verifyLinkSignature(key: Buffer, token: string): string | undefined {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return undefined;
  const [, linkId, signature] = match as unknown as [string, string, string];
  const expected = Buffer.from(sign(key, linkId));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? linkId : undefined;
}

export interface CreateLinkInput {
  tenantId: string;
  contactId: string;
  purpose: LinkPurpose;
  programId?: string | null;
  expiresAt: Date;
  createdBy?: string | null;
}

export async function insertPartnerLink(db: DbOrTx, input: CreateLinkInput): Promise<PartnerLinkRow> {
  return db
    .insertInto('partner_links')
    .values({
      tenant_id: input.tenantId,
      contact_id: input.contactId,
      purpose: input.purpose,
      program_id: input.programId ?? null,
      expires_at: input.expiresAt,
      created_by: input.createdBy ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function revokePartnerLink(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<PartnerLinkRow | undefined> {
  return db
    .updateTable('partner_links')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export interface ResolvedLink {
  link: PartnerLinkRow;
  partnerId: string;
}

export type LinkRefusal = 'invalid' | 'expired' | 'revoked' | 'wrong_purpose';

/** Resolves a token for a purpose at `now`: the link and its contact's partner, or why not. */
export async function resolvePartnerLink(
  db: DbOrTx,
  key: Buffer,
  token: string,
  purposes: LinkPurpose[],
  now: Date,
): Promise<ResolvedLink | LinkRefusal> {
  const linkId = verifyLinkSignature(key, token);
  if (!linkId) return 'invalid';
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
    .selectAll('partner_links')
    .select(['partner_contacts.partner_id', 'partners.status as partner_status'])
    .where('partner_links.id', '=', linkId)
    .executeTakeFirst();
  if (!row) return 'invalid';
  if (row.revoked_at) return 'revoked';
  if (row.partner_status === 'archived' || row.partner_status === 'suspended') return 'revoked';
  if (row.expires_at.getTime() <= now.getTime()) return 'expired';
  if (!purposes.includes(row.purpose)) return 'wrong_purpose';
  const { partner_id, partner_status: _status, ...link } = row;
  return { link, partnerId: partner_id };
}
