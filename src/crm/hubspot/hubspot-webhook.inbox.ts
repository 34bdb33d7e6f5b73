import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../../db/database.ts';
import { withoutNul } from '../../db/nul-characters.ts';
import { lockPendingEvents } from '../../inbox/inbox.repository.ts';
import { processInboxEventJob } from '../../inbox/process-inbox-event.job.ts';
import { assertPayload } from '../../jobs/job.ts';

/** One event of a HubSpot webhook batch, as HubSpot sends it (the fields we rely on). */
export interface HubspotWebhookEvent {
  eventId: number | string;
  subscriptionId?: number;
  portalId: number | string;
  appId?: number | string;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber?: number;
  objectId: number | string;
  objectTypeId?: string;
  propertyName?: string;
  propertyValue?: string;
  changeSource?: string;
  sourceId?: string;
  changeFlag?: string;
  mergedObjectIds?: (number | string)[];
  primaryObjectId?: number | string;
  [field: string]: unknown;
}

/** Unique per portal: HubSpot's event ids are not unique across accounts. */
export const hubspotSourceId = (event: HubspotWebhookEvent) => `${event.portalId}:${event.eventId}`;

/**
 * Stores a verified batch in the inbox and enqueues one processing job per new event, in ONE
 * statement whatever the batch size (the jobs' outbox rows are inserted from the inbox insert's
 * RETURNING), so it is atomic without a transaction and costs one round trip. The outbox rows are
 * exactly what enqueueJob writes for `inbox.process`. Redelivered events hit the unique
 * (source, source_id) and are dropped; their jobs were enqueued the first time.
 */
export async function storeHubspotBatch(
  db: DbOrTx,
  events: HubspotWebhookEvent[],
  tenants: ReadonlyMap<string, string>,
): Promise<{ stored: number; duplicates: number }> {
  if (events.length === 0) return { stored: 0, duplicates: 0 };
  // A batch can repeat an event (HubSpot retries): one insert may not touch the same key twice.
  const unique = [...new Map(events.map((e) => [hubspotSourceId(e), e])).values()];
  // The payload and dedup id built in SQL below are these, for every inbox id.
  assertPayload(processInboxEventJob, { inboxId: '1' });
  if (processInboxEventJob.dedupId?.({ inboxId: '1' }) !== '1') {
    throw new Error('inbox.process must deduplicate on the inbox id');
  }
  const jobs = await db
    .with('stored', (qb) =>
      qb
        .insertInto('inbox')
        .values(
          unique.map((event) => ({
            source: 'hubspot',
            source_id: hubspotSourceId(event),
            tenant_id: tenants.get(String(event.portalId)) ?? null,
            // Kept whole, but a NUL character (which jsonb cannot hold) as U+FFFD.
            payload: JSON.stringify(withoutNul(event)),
          })),
        )
        .onConflict((oc) => oc.columns(['source', 'source_id']).doNothing())
        .returning('id'),
    )
    .insertInto('outbox')
    .columns(['job_name', 'queue', 'payload', 'dedup_id'])
    .expression((eb) =>
      eb
        .selectFrom('stored')
        .select([
          sql.lit(processInboxEventJob.name).as('job_name'),
          sql.lit(processInboxEventJob.queue).as('queue'),
          sql<string>`jsonb_build_object('inboxId', stored.id::text)`.as('payload'),
          sql<string>`stored.id::text`.as('dedup_id'),
        ]),
    )
    .onConflict((oc) => oc.columns(['job_name', 'dedup_id']).doNothing())
    .returning('id')
    .execute();
  return { stored: jobs.length, duplicates: events.length - jobs.length };
}

/** Locks and returns the unprocessed events of one object, so a job can apply them together in order. */
export async function lockPendingObjectEvents(tx: Tx, tenantId: string, objectId: string) {
  return tx
    .selectFrom('inbox')
    .selectAll()
    .where('source', '=', 'hubspot')
    .where('tenant_id', '=', tenantId)
    .where(sql<string>`payload->>'objectId'`, '=', objectId)
    .where('processed_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .skipLocked()
    .execute();
}

/**
 * Locks and returns up to `limit` of the tenant's other pending events that can be recorded in one
 * batch (lockPendingEvents): property changes of deals already mirrored here. Events of other kinds
 * keep their own jobs.
 */
export function lockPendingDealChanges(tx: Tx, tenantId: string, exclude: readonly bigint[], limit: number) {
  return lockPendingEvents(tx, 'hubspot', tenantId, {
    exclude,
    limit,
    narrow: (eb) =>
      eb.and([
        eb.or([
          eb(sql<string>`payload->>'subscriptionType'`, '=', 'deal.propertyChange'),
          eb.and([
            eb(sql<string>`payload->>'subscriptionType'`, '=', 'object.propertyChange'),
            eb(sql<string>`payload->>'objectTypeId'`, '=', '0-3'),
          ]),
        ]),
        eb.exists(
          eb
            .selectFrom('deals')
            .select(sql.lit(1).as('one'))
            .where('deals.tenant_id', '=', tenantId)
            .where('deals.source', '=', 'hubspot')
            .where('deals.crm_deal_id', '=', sql<string>`inbox.payload->>'objectId'`),
        ),
      ]),
  });
}
