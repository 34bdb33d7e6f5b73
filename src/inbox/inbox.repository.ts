import type { Tx } from '../db/database.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { processInboxEventJob } from './process-inbox-event.job.ts';

export interface InboundEvent {
  source: string;
  /** The sender's id for the event, unique within the source (e.g. `<portal id>:<event id>`). */
  sourceId: string;
  tenantId?: string | null;
  payload: unknown;
}

export interface AcceptResult {
  id: bigint | undefined;
  duplicate: boolean;
}

/**
 * Stores verified inbound events and enqueues their processing, in the caller's transaction. Only
 * after it commits may the sender be told "received". A redelivered event is recognised by its
 * source id and changes nothing.
 */
export async function acceptIntoInbox(tx: Tx, events: InboundEvent[]): Promise<AcceptResult[]> {
  const results: AcceptResult[] = [];
  for (const event of events) {
    const inserted = await tx
      .insertInto('inbox')
      .values({
        source: event.source,
        source_id: event.sourceId,
        tenant_id: event.tenantId ?? null,
        payload: JSON.stringify(event.payload),
      })
      .onConflict((oc) => oc.columns(['source', 'source_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      results.push({ id: undefined, duplicate: true });
      continue;
    }
    await enqueueJob(tx, processInboxEventJob, { inboxId: String(inserted.id) });
    results.push({ id: inserted.id, duplicate: false });
  }
  return results;
}
