import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { accrueDueRecurring } from './recurring-accrual.ts';

/**
 * Accrues the recurring share of every closed month (tenant time zone) whose recorded revenue the
 * ledger does not reflect yet: new months, late revenue and corrections. Hourly; the slot is the
 * deduplication id and the run uses the clock's time, so catching up after downtime posts each month
 * once.
 */
export const accrueRecurringJob = defineJob({
  name: 'commissions.accrue-recurring',
  queue: 'ledger',
  payload: Type.Object({ slot: Type.String({ minLength: 1 }) }),
  attempts: 5,
  backoff: { type: 'exponential', delayMs: 30_000 },
  dedupId: (payload) => payload.slot,
  async handle(_payload, { db, log, services }) {
    const result = await accrueDueRecurring(db, services.clock.now());
    if (result.months > 0)
      log.info({ deals: result.deals, months: result.months }, 'recurring shares accrued');
    if (result.problems.length > 0)
      log.warn({ problems: result.problems.slice(0, 20) }, 'recurring share problems');
  },
});
