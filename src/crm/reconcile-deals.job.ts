import { Type } from 'typebox';
import { enqueueJob } from '../jobs/enqueue.ts';
import { defineJob } from '../jobs/job.ts';
import { reconcileTenantDealsJob } from './reconcile-tenant-deals.job.ts';

/** Scheduled: one reconciliation job per connected CRM tenant, each retrying on its own. */
export const reconcileDealsJob = defineJob({
  name: 'crm.reconcile-deals',
  queue: 'crm',
  payload: Type.Object({ slot: Type.String() }),
  attempts: 3,
  dedupId: (payload) => payload.slot,
  async handle({ slot }, { db }) {
    const tenants = await db
      .selectFrom('tenants')
      .innerJoin('crm_connections', 'crm_connections.tenant_id', 'tenants.id')
      .select('tenants.id')
      .where('tenants.crm_kind', 'in', ['hubspot', 'salesforce'])
      .where('tenants.status', '=', 'active')
      .where('crm_connections.status', '=', 'connected')
      .execute();
    for (const tenant of tenants)
      await enqueueJob(db, reconcileTenantDealsJob, { tenantId: tenant.id, slot });
  },
});
