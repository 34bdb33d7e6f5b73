import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { Services } from '../services.ts';
import type { Branding } from './branding.ts';
import { EMAIL_KINDS, renderEmail, TEMPLATES, type TemplateName } from './email-templates.ts';
import { mailTransport } from './mail-transport.ts';
import { fallbackMessageId, messageIdFor, replyAddress, subjectTag } from './reply-address.ts';
import { hashReplyToken, issueReplyToken } from './reply-tokens.ts';
import type { TemplateData } from './template-engine.ts';
import { isUnsubscribed, unsubscribeToken } from './unsubscribe.ts';

/** One email to one partner contact, as the send job plans it. */
export interface OutgoingEmail {
  tenantId: string;
  eventId: string;
  template: TemplateName;
  contact: { id: string; name: string; email: string };
  partner: { id: string; name: string };
  registrationId: string | null;
  dealId: string | null;
  /** The notification thread the reply token and References belong to. */
  thread: string;
  branding: Branding;
  data: TemplateData;
  /**
   * Set when this email answers a message the contact sent us (registration by email, a refused
   * reply): it goes out even to an unsubscribed contact (they asked), threads under their message
   * and says it is an automatic reply (RFC 3834), so their auto-responder stays quiet.
   */
  answering?: { messageId: string; references: string[]; subject: string };
}

export type SendOutcome = 'sent' | 'already_sent' | 'unsubscribed';

/** event × recipient × template: the same email planned twice has the same key. */
export function idempotencyKeyOf(email: Pick<OutgoingEmail, 'eventId' | 'contact' | 'template'>): string {
  return `${email.eventId}/${email.contact.id}/${email.template}`;
}

export function threadKeyOf(email: Pick<OutgoingEmail, 'contact' | 'registrationId' | 'dealId' | 'thread'>) {
  return `${email.contact.id}/${email.registrationId ?? '-'}/${email.dealId ?? '-'}/${email.thread}`;
}

/**
 * Sends one email at most once. Checked before sending (a row `sent` means done), claimed in its
 * own committed transaction (row `sending`, with the reply token and Message-ID fixed), sent, then
 * recorded `sent`.
 *
 * What remains: a crash after the SMTP server accepted the message and before `sent` commits leaves
 * the row `sending`, and the retry sends again. SMTP offers no idempotency key to close that window,
 * but the retry carries the same Message-ID (derived from the idempotency key), so mailbox providers
 * and clients that deduplicate on Message-ID show one message. The window is one SMTP round trip;
 * at-least-once with an identical Message-ID is the accepted trade-off (email.md §5).
 */
export async function sendEmailOnce(
  db: Db,
  services: Services,
  email: OutgoingEmail,
  log?: Logger,
): Promise<SendOutcome> {
  const { config, secrets } = services;
  const key = idempotencyKeyOf(email);
  const existing = await db
    .selectFrom('sent_emails')
    .select(['status'])
    .where('tenant_id', '=', email.tenantId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
  if (existing?.status === 'sent') return 'already_sent';
  const kind = TEMPLATES[email.template].kind;
  if (!email.answering && (await isUnsubscribed(db, email.tenantId, email.contact.id, kind)))
    return 'unsubscribed';

  const domain = config.inboundEmailDomain;
  const threadKey = threadKeyOf(email);
  const claim = await db.transaction().execute(async (tx) => {
    const token = await issueReplyToken(tx, {
      tenantId: email.tenantId,
      contactId: email.contact.id,
      partnerId: email.partner.id,
      registrationId: email.registrationId,
      dealId: email.dealId,
      thread: email.thread,
      key: secrets.tokenEncryptionKey,
    });
    const tokenRow = await tx
      .selectFrom('reply_tokens')
      .select(['id'])
      .where('token_hash', '=', hashReplyToken(token))
      .executeTakeFirstOrThrow();
    const previous = await tx
      .selectFrom('sent_emails')
      .select(['message_id'])
      .where('tenant_id', '=', email.tenantId)
      .where('thread_key', '=', threadKey)
      .where('status', '=', 'sent')
      .where('idempotency_key', '<>', key)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const messageId = messageIdFor(key, token, domain);
    await tx
      .insertInto('sent_emails')
      .values({
        tenant_id: email.tenantId,
        idempotency_key: key,
        message_id: messageId,
        template: email.template,
        event_id: email.eventId,
        contact_id: email.contact.id,
        to_address: email.contact.email,
        subject: '',
        thread_key: threadKey,
        reply_token_id: tokenRow.id,
        status: 'sending',
      })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'idempotency_key'])
          .doUpdateSet({ status: 'sending', attempts: sql`sent_emails.attempts + 1`, error: null })
          // A run that finished meanwhile stays finished.
          .where('sent_emails.status', '<>', 'sent'),
      )
      .execute();
    // A retry keeps the Message-ID of the first attempt, whatever token this run was handed.
    const row = await tx
      .selectFrom('sent_emails')
      .select(['message_id', 'status'])
      .where('tenant_id', '=', email.tenantId)
      .where('idempotency_key', '=', key)
      .executeTakeFirstOrThrow();
    return {
      token,
      messageId: row.message_id,
      previousMessageId: previous?.message_id,
      alreadySent: row.status === 'sent',
    };
  });

  if (claim.alreadySent) return 'already_sent';
  const unsubscribe = unsubscribeToken(claim.token, kind);
  const unsubscribeUrl = `${config.publicUrl}/u/${unsubscribe}`;
  const rendered = await renderEmail(email.template, {
    ...email.data,
    brand: { ...email.branding },
    recipient: { name: email.contact.name },
    partner: { name: email.partner.name },
    unsubscribeUrl,
    kindLabel: EMAIL_KINDS[kind],
  });
  const answering = email.answering;
  const baseSubject = answering
    ? `Re: ${
        answering.subject
          .replace(/\s*\[ref:[a-z2-7]+\]/gi, '')
          .replace(/^(\s*(re|aw|sv)\s*:\s*)+/i, '')
          .trim() || rendered.subject
      }`
    : rendered.subject;
  const subject = `${baseSubject} ${subjectTag(claim.token)}`;
  // The fallback id goes FIRST: some clients only keep the last References entries, some relays drop
  // the Reply-To's plus part, and this id still carries the token (GitLab's practice).
  const root = `<thread.${createHash('sha256').update(`${email.tenantId}/${threadKey}`).digest('hex').slice(0, 24)}@${domain}>`;
  const references = [fallbackMessageId(claim.token, domain), root];
  if (answering) references.push(...answering.references.slice(-8), answering.messageId);
  else if (claim.previousMessageId) references.push(claim.previousMessageId);
  const inReplyTo = answering ? answering.messageId || undefined : claim.previousMessageId;

  try {
    await mailTransport(config).send({
      from: { name: email.branding.senderName, address: config.emailFrom },
      to: { name: email.contact.name, address: email.contact.email },
      replyTo: replyAddress(claim.token, domain),
      subject,
      text: rendered.text,
      html: rendered.html,
      messageId: claim.messageId,
      ...(inReplyTo ? { inReplyTo } : {}),
      references: [...new Set(references)].filter(Boolean),
      headers: {
        'Auto-Submitted': answering ? 'auto-replied' : 'auto-generated',
        'X-Auto-Response-Suppress': 'OOF, AutoReply',
        // One field with both URIs (RFC 2369), as Gmail and Yahoo read it; the https one is one-click.
        'List-Unsubscribe': `<${unsubscribeUrl}>, <mailto:unsubscribe+${unsubscribe}@${domain}?subject=unsubscribe>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
  } catch (error) {
    await db
      .updateTable('sent_emails')
      .set({ status: 'failed', error: error instanceof Error ? error.message.slice(0, 500) : 'send failed' })
      .where('tenant_id', '=', email.tenantId)
      .where('idempotency_key', '=', key)
      .execute();
    throw error;
  }
  await db
    .updateTable('sent_emails')
    .set({ status: 'sent', sent_at: new Date(), subject })
    .where('tenant_id', '=', email.tenantId)
    .where('idempotency_key', '=', key)
    .execute();
  log?.info({ template: email.template, messageId: claim.messageId }, 'email sent');
  return 'sent';
}
