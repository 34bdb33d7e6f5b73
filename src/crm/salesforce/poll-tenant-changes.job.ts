import { Type } from 'typebox';
import { defineJob } from '../../jobs/job.ts';
import { RECONCILE_OVERLAP_MS, reconcileDealsSince } from '../crm-reconcile.ts';
import { crmTarget, valueOrRetry } from '../crm-sync.target.ts';
import { advancePollingCursor, findChangeStream } from './salesforce-change-stream.repository.ts';

/** Without a cursor or a last change event, polling starts this far back (older is the backfill's). */
const FIRST_LOOK_BACK_MS = 24 * 60 * 60_000;

/**
 * Polling, for an org without Change Data Capture: the opportunities whose SystemModstamp is at or
 * after the tenant's cursor (less an overlap: a write commits after its SystemModstamp is taken)
 * are read through the shared reconciliation and recorded as snapshots, the same normalized events
 * a change event makes; recording dedupes on the opportunity and its SystemModstamp, so the overlap
 * costs nothing. The cursor moves to the newest SystemModstamp read.
 */
export const pollTenantChangesJob = defineJob({
  name: 'salesforce.poll-tenant-changes',
  queue: 'crm',
  payload: Type.Object({ tenantId: Type.String(), slot: Type.String() }),
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 10_000 },
  dedupId: (payload) => `${payload.tenantId}:${payload.slot}`,
  async handle({ tenantId }, { db, services, log }) {
    if (!(await crmTarget(db, services, tenantId))) return;
    const stream = await findChangeStream(db, tenantId);
    if (stream?.mode !== 'polling') return;
    const cursor =
      stream.polled_until ??
      stream.replayed_at ??
      new Date(services.clock.now().getTime() - FIRST_LOOK_BACK_MS);
    const since = new Date(cursor.getTime() - RECONCILE_OVERLAP_MS);
    const report = valueOrRetry(await reconcileDealsSince(db, services, tenantId, since), log, 'poll');
    if (!report) return;
    await advancePollingCursor(db, tenantId, report.newestModifiedAt ?? cursor);
    if (report.deals > 0)
      log.info({ tenantId, deals: report.deals, outcomes: report.outcomes }, 'salesforce: changes polled');
  },
});
