import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { RECONCILE_OVERLAP_MS, reconcileDealsSince } from './crm-reconcile.ts';
import { crmTarget, valueOrRetry } from './crm-sync.target.ts';

/** Without a cursor (a new installation), reconciliation looks back this far; older is the backfill's. */
const FIRST_LOOK_BACK_MS = 24 * 60 * 60_000;

/**
 * Catches what webhooks missed for one tenant: deals modified since its cursor (minus an overlap,
 * as search lags behind writes) are read through the search API and recorded as snapshots, the
 * same normalized events a webhook makes; recording dedupes, so the overlap costs nothing.
 */
export const reconcileTenantDealsJob = defineJob({
  name: 'crm.reconcile-tenant-deals',
  queue: 'crm',
  payload: Type.Object({ tenantId: Type.String(), slot: Type.String() }),
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 30_000 },
  dedupId: (payload) => `${payload.tenantId}:${payload.slot}`,
  async handle({ tenantId }, { db, services, log }) {
    if (!(await crmTarget(db, services, tenantId))) return;
    const cursor = await db
      .selectFrom('crm_sync_cursors')
      .select(['modified_since'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    const now = services.clock.now();
    const since = cursor
      ? new Date(cursor.modified_since.getTime() - RECONCILE_OVERLAP_MS)
      : new Date(now.getTime() - FIRST_LOOK_BACK_MS);
    const report = valueOrRetry(
      await reconcileDealsSince(db, services, tenantId, since),
      log,
      'reconcile deals',
    );
    if (!report) return;
    const next = report.newestModifiedAt ?? cursor?.modified_since ?? since;
    await db
      .insertInto('crm_sync_cursors')
      .values({ tenant_id: tenantId, modified_since: next, last_run_at: now })
      .onConflict((oc) =>
        oc.column('tenant_id').doUpdateSet({ modified_since: next, last_run_at: now, updated_at: now }),
      )
      .execute();
    log.info({ tenantId, deals: report.deals, outcomes: report.outcomes }, 'crm: deals reconciled');
  },
});
