import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { RECONCILE_OVERLAP_MS, reconcileDealIds, reconcileDealsSince } from './crm-reconcile.ts';
import { crmTarget, valueOrRetry } from './crm-sync.target.ts';

/**
 * Reads deals again when a change notification could not say what changed (Salesforce GAP_* and
 * GAP_OVERFLOW change events): the named deals, or every deal modified since the gap (less the
 * reconciliation overlap), through the shared reconciliation, which records them as snapshots.
 */
export const rereadDealsJob = defineJob({
  name: 'crm.reread-deals',
  queue: 'crm',
  payload: Type.Object({
    tenantId: Type.String(),
    /** What asked for it (e.g. the inbox row of the gap event): one job per cause. */
    reason: Type.String(),
    dealIds: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 2000 })),
    since: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T' })),
  }),
  attempts: 5,
  backoff: { type: 'exponential', delayMs: 30_000 },
  dedupId: (payload) => `${payload.tenantId}:${payload.reason}`,
  async handle({ tenantId, dealIds, since }, { db, services, log }) {
    if (!(await crmTarget(db, services, tenantId))) return;
    const result = dealIds
      ? await reconcileDealIds(db, services, tenantId, dealIds)
      : await reconcileDealsSince(
          db,
          services,
          tenantId,
          new Date(Date.parse(since ?? new Date(0).toISOString()) - RECONCILE_OVERLAP_MS),
        );
    const report = valueOrRetry(result, log, 're-read deals');
    if (report) log.info({ tenantId, deals: report.deals, outcomes: report.outcomes }, 'crm: deals re-read');
  },
});
