import { Type } from 'typebox';
import { enqueueJob } from '../../jobs/enqueue.ts';
import { defineJob } from '../../jobs/job.ts';
import { pollTenantChangesJob } from './poll-tenant-changes.job.ts';
import { changeCaptureTenants } from './salesforce-change-stream.repository.ts';

/** Scheduled: one polling job per connected Salesforce tenant in polling mode, each retrying on its own. */
export const pollSalesforceChangesJob = defineJob({
  name: 'salesforce.poll-changes',
  queue: 'crm',
  payload: Type.Object({ slot: Type.String() }),
  attempts: 3,
  dedupId: (payload) => payload.slot,
  async handle({ slot }, { db }) {
    for (const tenant of await changeCaptureTenants(db, 'polling'))
      await enqueueJob(db, pollTenantChangesJob, { tenantId: tenant.tenantId, slot });
  },
});
