import { writeAudit } from '../audit/audit.repository.ts';
import type { DbOrTx, Tx } from '../db/database.ts';
import { EMAIL_KINDS, type EmailKind } from './email-templates.ts';
import { REPLY_TOKEN_PATTERN, resolveReplyToken } from './reply-tokens.ts';

/**
 * Unsubscribe links name the email's reply token and the kind of email: `<token>-<kind>`. The token
 * already identifies the contact (it is in the same email's Reply-To, so the link reveals nothing
 * new), stays short enough for a mailto local part, and still works after the token expired or was
 * revoked for replies: leaving a list must not depend on a reply address still being live.
 */
export function unsubscribeToken(replyToken: string, kind: EmailKind): string {
  return `${replyToken}-${kind}`;
}

export function parseUnsubscribeToken(value: string): { replyToken: string; kind: EmailKind } | undefined {
  const [replyToken, kind, ...rest] = value.toLowerCase().split('-');
  if (rest.length > 0 || !replyToken || !kind) return undefined;
  if (!REPLY_TOKEN_PATTERN.test(replyToken) || !Object.hasOwn(EMAIL_KINDS, kind)) return undefined;
  return { replyToken, kind: kind as EmailKind };
}

export interface UnsubscribeTarget {
  tenantId: string;
  contactId: string;
  kind: EmailKind;
  contactEmail: string;
}

/** Who and what an unsubscribe link stands for, or undefined for a link we never issued. */
export async function findUnsubscribeTarget(
  db: DbOrTx,
  value: string,
): Promise<UnsubscribeTarget | undefined> {
  const parsed = parseUnsubscribeToken(value);
  if (!parsed) return undefined;
  const { token } = await resolveReplyToken(db, parsed.replyToken);
  if (!token) return undefined;
  const contact = await db
    .selectFrom('partner_contacts')
    .select(['email'])
    .where('tenant_id', '=', token.tenant_id)
    .where('id', '=', token.contact_id)
    .executeTakeFirst();
  if (!contact) return undefined;
  return {
    tenantId: token.tenant_id,
    contactId: token.contact_id,
    kind: parsed.kind,
    contactEmail: contact.email,
  };
}

export async function unsubscribe(db: DbOrTx, target: UnsubscribeTarget): Promise<void> {
  await db
    .insertInto('email_unsubscribes')
    .values({ tenant_id: target.tenantId, contact_id: target.contactId, kind: target.kind })
    .onConflict((oc) => oc.columns(['tenant_id', 'contact_id', 'kind']).doNothing())
    .execute();
}

export async function isUnsubscribed(
  db: DbOrTx,
  tenantId: string,
  contactId: string,
  kind: EmailKind,
): Promise<boolean> {
  const row = await db
    .selectFrom('email_unsubscribes')
    .select(['kind'])
    .where('tenant_id', '=', tenantId)
    .where('contact_id', '=', contactId)
    .where('kind', '=', kind)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The one-click unsubscribe, whichever way it arrives (POST /u/:token, or a mail to the mailto of
 * List-Unsubscribe): stored and audited in the caller's transaction.
 */
export async function unsubscribeAndRecord(
  tx: Tx,
  target: UnsubscribeTarget,
  via: { channel: 'web' | 'email'; ip?: string | null },
): Promise<void> {
  await unsubscribe(tx, target);
  await writeAudit(
    tx,
    {
      tenantId: target.tenantId,
      actorType: 'contact',
      actorId: target.contactId,
      source: 'email',
      ip: via.ip ?? null,
    },
    {
      action: 'contact.unsubscribed',
      subjectType: 'partner_contact',
      subjectId: target.contactId,
      after: { kind: target.kind, via: via.channel },
    },
  );
}
