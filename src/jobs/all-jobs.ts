import { accrueRecurringJob } from '../commissions/accrue-recurring.job.ts';
import { accrueRetainersJob } from '../commissions/accrue-retainers.job.ts';
import { releaseCommissionHoldsJob } from '../commissions/commission-lifecycle-holds.job.ts';
import { registrationFeeJob } from '../commissions/registration-fee.job.ts';
import { pushRegistrationJob } from '../crm/push-registration.job.ts';
import { reconcileDealsJob } from '../crm/reconcile-deals.job.ts';
import { reconcileTenantDealsJob } from '../crm/reconcile-tenant-deals.job.ts';
import { rereadDealsJob } from '../crm/reread-deals.job.ts';
import { pollSalesforceChangesJob } from '../crm/salesforce/poll-salesforce-changes.job.ts';
import { pollTenantChangesJob } from '../crm/salesforce/poll-tenant-changes.job.ts';
import { writeTimelineNoteJob } from '../crm/write-timeline-note.job.ts';
import { deliverDomainEventJob } from '../events/domain-event.job.ts';
import { pruneIdempotencyKeysJob } from '../http/prune-idempotency-keys.job.ts';
import { processInboxEventJob } from '../inbox/process-inbox-event.job.ts';
import { answerInboundJob } from '../messaging/answer-inbound.job.ts';
import { notifyCrmDisconnectedJob } from '../messaging/notify-crm-disconnected.job.ts';
import { notifyNoteOwnerJob } from '../messaging/notify-note-owner.job.ts';
import { protectionRemindersJob } from '../messaging/protection-reminders.job.ts';
import { sendEmailJob } from '../messaging/send-email.job.ts';
import { weeklyDigestJob } from '../messaging/weekly-digest.job.ts';
import { expireRegistrationsJob } from '../registrations/expire-registrations.job.ts';
import type { JobDefinition } from './job.ts';

/** Every job of the application: the job registry is built from this list. Features add theirs. */
export const allJobs: JobDefinition<any>[] = [
  processInboxEventJob,
  pushRegistrationJob,
  writeTimelineNoteJob,
  reconcileDealsJob,
  reconcileTenantDealsJob,
  rereadDealsJob,
  pollSalesforceChangesJob,
  pollTenantChangesJob,
  deliverDomainEventJob,
  expireRegistrationsJob,
  pruneIdempotencyKeysJob,
  accrueRetainersJob,
  accrueRecurringJob,
  releaseCommissionHoldsJob,
  registrationFeeJob,
  sendEmailJob,
  protectionRemindersJob,
  weeklyDigestJob,
  answerInboundJob,
  notifyNoteOwnerJob,
  notifyCrmDisconnectedJob,
];
