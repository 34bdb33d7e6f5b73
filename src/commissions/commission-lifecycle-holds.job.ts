import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { releaseHolds } from './commission-lifecycle.ts';

/**
 * Moves commission lines whose hold has run out to awaiting approval. Scheduled: the slot is the
 * deduplication id; the run uses the clock's time, so a late run still releases everything due.
 */
export const releaseCommissionHoldsJob = defineJob({
  name: 'commissions.release-holds',
  queue: 'ledger',
  payload: Type.Object({ slot: Type.String({ minLength: 1 }) }),
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 5_000 },
  dedupId: (payload) => payload.slot,
  async handle(_payload, { db, log, services }) {
    const released = await releaseHolds(db, services.clock.now());
    if (released > 0) log.info({ released }, 'commission holds released');
  },
});
