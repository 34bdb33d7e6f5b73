import { deliverDomainEventJob } from '../events/domain-event.job.ts';
import { pruneIdempotencyKeysJob } from '../http/prune-idempotency-keys.job.ts';
import { processInboxEventJob } from '../inbox/process-inbox-event.job.ts';
import { expireRegistrationsJob } from '../registrations/expire-registrations.job.ts';
import type { JobDefinition } from './job.ts';

/** Every job of the application: the job registry is built from this list. Features add theirs. */
export const allJobs: JobDefinition<any>[] = [
  processInboxEventJob,
  deliverDomainEventJob,
  expireRegistrationsJob,
  pruneIdempotencyKeysJob,
];
