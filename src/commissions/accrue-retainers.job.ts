import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { accrueDueRetainers } from './retainer-accrual.ts';

/**
 * Posts every retainer month that has come due (local midnight on the 1st, tenant time zone).
 * Scheduled hourly: the slot is the deduplication id, and the run uses the clock's time, so a late
 * run or the first run after downtime posts each missed month once, and a second run posts nothing.
 */
export const accrueRetainersJob = defineJob({
  name: 'commissions.accrue-retainers',
  queue: 'ledger',
  payload: Type.Object({ slot: Type.String({ minLength: 1 }) }),
  attempts: 5,
  backoff: { type: 'exponential', delayMs: 30_000 },
  dedupId: (payload) => payload.slot,
  async handle(_payload, { db, log, services }) {
    const result = await accrueDueRetainers(db, services.clock.now());
    if (result.months > 0) log.info(result, 'retainer months accrued');
  },
});
