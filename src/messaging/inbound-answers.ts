import type { Tx } from '../db/database.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { answerInboundJob } from './answer-inbound.job.ts';
import type { InboundParsed } from './inbound-parse.ts';
import type { ReplyTokenRow } from './reply-tokens.ts';
import type { TemplateData } from './template-engine.ts';

/**
 * The answers the inbox sends back, decided in the processing transaction and sent by a job. Two
 * rules keep them from becoming backscatter or a loop: an answer only ever goes to a contact on
 * file (never to the From of the message, which anyone can forge), and refusals go out at most once
 * per address per REFUSAL_WINDOW. Auto-replies, bounces and our own mail never get this far.
 */

export const REFUSAL_WINDOW_MS = 24 * 3_600_000;

export interface AnswerPlan {
  tenantId: string;
  inboundMessageId: string;
  kind: 'registration' | 'refusal';
  template: 'registration-by-email' | 'reply-not-accepted';
  contact: { id: string; email: string };
  registrationId: string | null;
  dealId: string | null;
  /** The reply thread of the answer's own Reply-To. */
  thread: string;
  data: TemplateData;
  /** The message answered: its id, references and subject make the answer a reply to it. */
  parsed: Pick<InboundParsed, 'messageId' | 'replyIds' | 'subject'>;
}

export type AnswerDecision = 'planned' | 'rate-limited' | 'already answered';

/** Records and enqueues one answer, in the caller's transaction; at most one per inbound message. */
export async function planAnswer(tx: Tx, plan: AnswerPlan, now: Date): Promise<AnswerDecision> {
  const to = plan.contact.email.toLowerCase();
  if (plan.kind === 'refusal') {
    const recent = await tx
      .selectFrom('inbound_answers')
      .select('id')
      .where('to_address', '=', to)
      .where('kind', '=', 'refusal')
      .where('created_at', '>', new Date(now.getTime() - REFUSAL_WINDOW_MS))
      .executeTakeFirst();
    if (recent) return 'rate-limited';
  }
  const inserted = await tx
    .insertInto('inbound_answers')
    .values({
      tenant_id: plan.tenantId,
      inbound_message_id: plan.inboundMessageId,
      to_address: to,
      kind: plan.kind,
      template: plan.template,
      created_at: now,
    })
    .onConflict((oc) => oc.column('inbound_message_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return 'already answered';
  await enqueueJob(tx, answerInboundJob, {
    tenantId: plan.tenantId,
    inboundMessageId: plan.inboundMessageId,
    template: plan.template,
    contactId: plan.contact.id,
    registrationId: plan.registrationId,
    dealId: plan.dealId,
    thread: plan.thread,
    data: plan.data as Record<string, unknown>,
    answering: {
      messageId: plan.parsed.messageId ?? '',
      references: plan.parsed.replyIds,
      subject: plan.parsed.subject,
    },
  });
  return 'planned';
}

/**
 * The polite refusal for a reply we could not take: to the token's own contact, never to the sender.
 * `otherAddress` when a valid token came back from an address that is not a contact of the partner;
 * else the token was expired or revoked.
 */
export async function planRefusal(
  tx: Tx,
  input: {
    token: ReplyTokenRow;
    inboundMessageId: string;
    parsed: InboundParsed;
    otherAddress: boolean;
    now: Date;
  },
): Promise<AnswerDecision | 'no contact on file'> {
  const { token, parsed } = input;
  const contact = await tx
    .selectFrom('partner_contacts')
    .select(['id', 'email'])
    .where('tenant_id', '=', token.tenant_id)
    .where('id', '=', token.contact_id)
    .where('partner_id', '=', token.partner_id)
    .executeTakeFirst();
  if (!contact) return 'no contact on file';
  return planAnswer(
    tx,
    {
      tenantId: token.tenant_id,
      inboundMessageId: input.inboundMessageId,
      kind: 'refusal',
      template: 'reply-not-accepted',
      contact,
      registrationId: token.registration_id,
      dealId: token.deal_id,
      thread: token.thread,
      data: {
        refusal: {
          stale: !input.otherAddress,
          otherAddress: input.otherAddress,
          address: parsed.from ?? '',
          subject: parsed.subject.replace(/\s*\[ref:[a-z2-7]+\]/gi, '').slice(0, 200),
        },
        preheader: 'Your email could not be added',
      },
      // Threaded under the refused message only when it came from the contact: otherwise the
      // contact never saw it, and a stranger's Message-ID has no place in their thread.
      parsed: input.otherAddress ? { messageId: null, replyIds: [], subject: parsed.subject } : parsed,
    },
    input.now,
  );
}
