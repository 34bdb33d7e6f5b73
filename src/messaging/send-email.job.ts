import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { isSuperseded } from './email-coalescing.ts';
import { planEmails } from './email-plans.ts';
import { sendEmailOnce } from './email-sender.ts';

/**
 * Sends the emails one domain event makes (email-plans.ts), one per recipient contact, each at most
 * once (email-sender.ts): a retry after a failure part-way skips the contacts already served.
 * A deal stage change that a newer one superseded within the coalescing window sends nothing.
 */
export const sendEmailJob = defineJob({
  name: 'email.send',
  queue: 'email',
  payload: Type.Object({
    event: Type.Object({
      id: Type.String(),
      type: Type.String(),
      tenantId: Type.String(),
      subjectId: Type.String(),
      occurredAt: Type.String(),
      data: Type.Record(Type.String(), Type.Unknown()),
    }),
    /** Set for coalesced streams (`deal-stage:<dealId>`): only the stream's latest event sends. */
    coalesceKey: Type.Optional(Type.String()),
  }),
  attempts: 6,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => `email:${payload.event.id}`,
  async handle({ event, coalesceKey }, { db, services, log }) {
    if (coalesceKey && (await isSuperseded(db, event.tenantId, coalesceKey, event.id))) {
      log.debug({ eventId: event.id, coalesceKey }, 'email superseded by a newer change');
      return;
    }
    const emails = await planEmails(db, event);
    const outcomes: Record<string, number> = {};
    for (const email of emails) {
      const outcome = await sendEmailOnce(db, services, email, log);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    if (emails.length > 0)
      log.info({ eventId: event.id, type: event.type, ...outcomes }, 'event emails done');
  },
});
