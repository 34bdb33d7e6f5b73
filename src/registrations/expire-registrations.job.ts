import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { expireRegistrations } from './registration-expiry.ts';

/**
 * Ends protection windows that have run out. Scheduled every few minutes: the payload names the
 * scheduler's slot, and the slot is the deduplication id, so many processes enqueueing the same slot
 * make one run. The run uses the clock's time, not the slot's: a late run still expires everything due.
 */
export const expireRegistrationsJob = defineJob({
  name: 'registrations.expire',
  queue: 'default',
  payload: Type.Object({ slot: Type.String({ minLength: 1 }) }),
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => payload.slot,
  async handle(_payload, { db, log, services }) {
    const expired = await expireRegistrations(db, services.clock.now());
    if (expired > 0) log.info({ expired }, 'registrations expired');
  },
});
