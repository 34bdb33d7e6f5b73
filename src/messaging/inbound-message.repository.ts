import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, DbOrTx, Tx } from '../db/database.ts';
import { acceptIntoInbox } from '../inbox/inbox.repository.ts';
import type {
  InboundChannel,
  InboundEnvelope,
  InboundMessageRow,
  InboundStatus,
} from './inbound-message.table.ts';
import { dedupKeyOf, peekMessageId } from './inbound-parse.ts';

/** The inbox source of inbound email; its processor is in inbound-email.processor.ts. */
export const EMAIL_INBOX_SOURCE = 'email';

export interface StoreResult {
  id: string;
  duplicate: boolean;
}

/**
 * Keeps a raw inbound email and enqueues its processing, in the caller's transaction: only after it
 * commits may the sender be told "received". A redelivery (same Message-ID, or the same bytes when
 * there is none) finds the first copy and changes nothing.
 */
export async function storeInboundMessage(
  tx: Tx,
  input: { channel: InboundChannel; raw: Buffer; envelope?: InboundEnvelope },
): Promise<StoreResult> {
  const messageId = peekMessageId(input.raw);
  const dedupKey = dedupKeyOf(input.raw, messageId);
  const inserted = await tx
    .insertInto('inbound_messages')
    .values({
      channel: input.channel,
      dedup_key: dedupKey,
      message_id: messageId,
      raw: input.raw,
      size_bytes: input.raw.length,
      envelope: JSON.stringify(input.envelope ?? {}),
    })
    .onConflict((oc) => oc.column('dedup_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) {
    const existing = await tx
      .selectFrom('inbound_messages')
      .select('id')
      .where('dedup_key', '=', dedupKey)
      .executeTakeFirstOrThrow();
    return { id: existing.id, duplicate: true };
  }
  await acceptIntoInbox(tx, [
    { source: EMAIL_INBOX_SOURCE, sourceId: dedupKey, payload: { inboundMessageId: inserted.id } },
  ]);
  return { id: inserted.id, duplicate: false };
}

/**
 * Records a message the transport refused before it was whole (over the size limit): its header
 * section only, already rejected, so the refusal can be seen and counted. Nothing is processed.
 */
export async function recordRefusedMessage(
  db: DbOrTx,
  input: { channel: InboundChannel; head: Buffer; size: number; reason: string; envelope?: InboundEnvelope },
): Promise<void> {
  const messageId = peekMessageId(input.head);
  const digest = createHash('sha256').update(input.head).digest('hex');
  await db
    .insertInto('inbound_messages')
    .values({
      channel: input.channel,
      dedup_key: `refused:${digest}`,
      message_id: messageId,
      raw: input.head,
      size_bytes: input.size,
      envelope: JSON.stringify({ ...input.envelope, refused: input.reason }),
      status: 'rejected',
      reason: input.reason,
      processed_at: sql<Date>`now()`,
    })
    .onConflict((oc) => oc.column('dedup_key').doNothing())
    .execute();
}

/** Remembers a provider's one-time webhook token; false when it was seen before (a replay). */
export async function rememberWebhookToken(tx: Tx, provider: string, token: string): Promise<boolean> {
  const inserted = await tx
    .insertInto('inbound_webhook_tokens')
    .values({ provider, token })
    .onConflict((oc) => oc.columns(['provider', 'token']).doNothing())
    .returning('token')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function lockInboundMessage(tx: Tx, id: string): Promise<InboundMessageRow | undefined> {
  return tx.selectFrom('inbound_messages').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export interface InboundOutcome {
  status: Exclude<InboundStatus, 'received'>;
  reason: string;
  tenantId?: string | null;
  fromAddress?: string | null;
  subject?: string | null;
  replyTokenId?: string | null;
  contactId?: string | null;
  registrationId?: string | null;
  replyText?: string | null;
  quotedText?: string | null;
}

export async function recordInboundOutcome(tx: Tx, id: string, outcome: InboundOutcome): Promise<void> {
  await tx
    .updateTable('inbound_messages')
    .set({
      status: outcome.status,
      reason: outcome.reason.slice(0, 1000),
      tenant_id: outcome.tenantId ?? null,
      from_address: outcome.fromAddress ?? null,
      subject: outcome.subject?.slice(0, 1000) ?? null,
      reply_token_id: outcome.replyTokenId ?? null,
      contact_id: outcome.contactId ?? null,
      registration_id: outcome.registrationId ?? null,
      reply_text: outcome.replyText ?? null,
      quoted_text: outcome.quotedText ?? null,
      processed_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .execute();
}

export async function findInboundMessage(db: Db, id: string): Promise<InboundMessageRow | undefined> {
  return db.selectFrom('inbound_messages').selectAll().where('id', '=', id).executeTakeFirst();
}
