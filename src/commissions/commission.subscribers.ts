import type { EventSubscriber } from '../events/publish-event.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { registrationFeeJob } from './registration-fee.job.ts';

const payFees: EventSubscriber = async (event, { db }) => {
  const registrationId =
    typeof event.data.registrationId === 'string' ? event.data.registrationId : event.subjectId;
  await enqueueJob(db, registrationFeeJob, { eventId: event.id, tenantId: event.tenantId, registrationId });
};

/** A registration approved may earn a flat fee (rule type flat_fee, on registration_approved). */
export const commissionSubscribers = [{ type: 'registration.approved', subscriber: payFees }];
