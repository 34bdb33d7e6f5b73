import type { EventSubscriber } from '../events/publish-event.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { recordCoalesceHead } from './email-coalescing.ts';
import { EMAIL_EVENT_TYPES } from './email-plans.ts';
import { notifyCrmDisconnectedJob } from './notify-crm-disconnected.job.ts';
import { sendEmailJob } from './send-email.job.ts';

/**
 * Each event that makes partner emails enqueues one `email.send` job (deduplicated by the event id).
 * A deal's stage changes are delayed by EMAIL_COALESCE_SECONDS and coalesce per deal.
 */
const enqueueSend: EventSubscriber = async (event, { db, services }) => {
  if (event.type === 'deal.stage_changed') {
    const dealId = typeof event.data.dealId === 'string' ? event.data.dealId : event.subjectId;
    const coalesceKey = `deal-stage:${dealId}`;
    const delayMs = services.config.emailCoalesceSeconds * 1000;
    await db.transaction().execute(async (tx) => {
      await recordCoalesceHead(tx, {
        tenantId: event.tenantId,
        key: coalesceKey,
        eventId: event.id,
        occurredAt: new Date(event.occurredAt),
      });
      await enqueueJob(tx, sendEmailJob, { event, coalesceKey }, delayMs > 0 ? { delayMs } : {});
    });
    return;
  }
  await enqueueJob(db, sendEmailJob, { event });
};

/** The tenant's admins are told its CRM is disconnected (one job per event, deduplicated by its id). */
const enqueueCrmDisconnected: EventSubscriber = async (event, { db }) => {
  const text = (v: unknown, fallback: string) => (typeof v === 'string' && v !== '' ? v : fallback);
  await enqueueJob(db, notifyCrmDisconnectedJob, {
    eventId: event.id,
    tenantId: event.tenantId,
    crm: text(event.data.crm, 'hubspot'),
    reason: text(event.data.reason, 'unknown'),
    occurredAt: event.occurredAt,
  });
};

export const emailSubscribers = [
  ...EMAIL_EVENT_TYPES.map((type) => ({ type, subscriber: enqueueSend })),
  { type: 'tenant.disconnected', subscriber: enqueueCrmDisconnected },
];
