import { pruneIdempotencyKeysJob } from '../http/prune-idempotency-keys.job.ts';
import { expireRegistrationsJob } from '../registrations/expire-registrations.job.ts';
import type { Schedule } from './scheduler.ts';

const MINUTE = 60_000;

/** Every recurring job of the application, with its period. Features add theirs. */
export const allSchedules: Schedule[] = [
  // Protection windows end at a precise instant; a claim lapses within five minutes of it.
  { job: expireRegistrationsJob, everyMs: 5 * MINUTE },
  { job: pruneIdempotencyKeysJob, everyMs: 60 * MINUTE },
];
