import type { DbOrTx } from '../db/database.ts';
import { assertPayload, type JobDefinition } from './job.ts';

export interface EnqueueOptions {
  /** Run no earlier than this many milliseconds after the transaction commits. */
  delayMs?: number;
}

/**
 * Enqueues a job by writing it to the outbox, inside the caller's transaction: the job exists if
 * and only if that transaction commits. The outbox relay hands it to the queue afterwards.
 * Returns false when a job with the same deduplication id was already enqueued.
 */
export async function enqueueJob<P>(
  db: DbOrTx,
  job: JobDefinition<P>,
  payload: P,
  options: EnqueueOptions = {},
): Promise<boolean> {
  assertPayload(job, payload);
  const dedupId = job.dedupId?.(payload) ?? null;
  const result = await db
    .insertInto('outbox')
    .values({
      job_name: job.name,
      queue: job.queue,
      payload: JSON.stringify(payload),
      dedup_id: dedupId,
      ...(options.delayMs ? { available_at: new Date(Date.now() + options.delayMs) } : {}),
    })
    .onConflict((oc) => oc.columns(['job_name', 'dedup_id']).doNothing())
    .executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}
