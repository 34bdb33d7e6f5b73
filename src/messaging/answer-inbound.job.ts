import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { findLinkContact } from '../links/partner-link.repository.ts';
import { loadBranding } from './branding.ts';
import { sendEmailOnce } from './email-sender.ts';
import type { TemplateName } from './email-templates.ts';
import type { TemplateData } from './template-engine.ts';

/**
 * Sends the one answer the inbox decided on for an inbound message (inbound-answers.ts): the result
 * of a registration by email, or a polite refusal. Through the ordinary sender, so it is sent at most
 * once (keyed on the inbound message) and carries a live reply address of its own.
 */
export const answerInboundJob = defineJob({
  name: 'email.answer-inbound',
  queue: 'email',
  payload: Type.Object({
    tenantId: Type.String(),
    inboundMessageId: Type.String(),
    template: Type.Union([Type.Literal('registration-by-email'), Type.Literal('reply-not-accepted')]),
    contactId: Type.String(),
    registrationId: Type.Union([Type.String(), Type.Null()]),
    dealId: Type.Union([Type.String(), Type.Null()]),
    thread: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
    answering: Type.Object({
      messageId: Type.String(),
      references: Type.Array(Type.String()),
      subject: Type.String(),
    }),
  }),
  attempts: 6,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => `answer:${payload.inboundMessageId}`,
  async handle(payload, { db, services, log }) {
    const contact = await findLinkContact(db, payload.tenantId, payload.contactId);
    const branding = await loadBranding(db, payload.tenantId);
    if (!contact || !branding) {
      log.info({ inboundMessageId: payload.inboundMessageId }, 'answer dropped: contact or tenant gone');
      return;
    }
    const outcome = await sendEmailOnce(
      db,
      services,
      {
        tenantId: payload.tenantId,
        eventId: `inbound/${payload.inboundMessageId}`,
        template: payload.template as TemplateName,
        contact: { id: contact.id, name: contact.name, email: contact.email },
        partner: { id: contact.partner_id, name: contact.partner_name },
        registrationId: payload.registrationId,
        dealId: payload.dealId,
        thread: payload.thread,
        branding,
        data: payload.data as TemplateData,
        answering: payload.answering,
      },
      log,
    );
    log.info({ inboundMessageId: payload.inboundMessageId, outcome }, 'inbound answer done');
  },
});
