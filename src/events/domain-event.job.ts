import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';

/**
 * Delivers one domain event (`registration.approved`, …) to its subscribers: the email and CRM
 * features list theirs in `all-subscribers.ts`. A subscriber must be idempotent: the job
 * may run again after a failure of any one of them.
 */
export const deliverDomainEventJob = defineJob({
  name: 'events.deliver',
  queue: 'default',
  payload: Type.Object({
    id: Type.String(),
    type: Type.String(),
    tenantId: Type.String(),
    subjectId: Type.String(),
    occurredAt: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
  }),
  attempts: 8,
  backoff: { type: 'exponential', delayMs: 2_000 },
  dedupId: (event) => event.id,
  async handle(event, { db, services, log }) {
    for (const subscriber of services.eventSubscribers.get(event.type) ?? []) {
      await subscriber(event, { db, log, services });
    }
  },
});
