import { accrueRecurringJob } from '../commissions/accrue-recurring.job.ts';
import { accrueRetainersJob } from '../commissions/accrue-retainers.job.ts';
import { releaseCommissionHoldsJob } from '../commissions/commission-lifecycle-holds.job.ts';
import { reconcileDealsJob } from '../crm/reconcile-deals.job.ts';
import { pollSalesforceChangesJob } from '../crm/salesforce/poll-salesforce-changes.job.ts';
import { pruneIdempotencyKeysJob } from '../http/prune-idempotency-keys.job.ts';
import { protectionRemindersJob } from '../messaging/protection-reminders.job.ts';
import { weeklyDigestJob } from '../messaging/weekly-digest.job.ts';
import { expireRegistrationsJob } from '../registrations/expire-registrations.job.ts';
import type { Schedule } from './scheduler.ts';

const MINUTE = 60_000;

/** Every recurring job of the application, with its period. Features add theirs. */
export const allSchedules: Schedule[] = [
  // Protection windows end at a precise instant; a claim lapses within five minutes of it.
  { job: expireRegistrationsJob, everyMs: 5 * MINUTE },
  { job: pruneIdempotencyKeysJob, everyMs: 60 * MINUTE },
  // Catches deal changes webhooks missed; search's own limit is shared with the other CRM reads.
  { job: reconcileDealsJob, everyMs: 15 * MINUTE },
  // Salesforce orgs without Change Data Capture: their opportunity changes arrive within the minute.
  { job: pollSalesforceChangesJob, everyMs: MINUTE },
  // A month's retainer is owed from local midnight on the 1st; posted within the hour.
  { job: accrueRetainersJob, everyMs: 60 * MINUTE },
  // A month's recurring share is owed once the month has closed locally; posted within the hour.
  { job: accrueRecurringJob, everyMs: 60 * MINUTE },
  // Holds end at the instant a line accrued plus the hold; approvers see it within 15 minutes.
  { job: releaseCommissionHoldsJob, everyMs: 15 * MINUTE },
  // A reminder goes out within the hour a protection enters its last 7 days.
  { job: protectionRemindersJob, everyMs: 60 * MINUTE },
  // Weekly slots start Thursday 00:00 UTC (slots count from the epoch).
  { job: weeklyDigestJob, everyMs: 7 * 24 * 60 * MINUTE },
];
