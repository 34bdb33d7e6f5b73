import { type QueryCreator, sql } from 'kysely';
import type { Database, DbOrTx } from '../db/database.ts';
import { jsonRows } from '../db/json-rows.ts';
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
  return (await enqueueJobs(db, job, [payload], options)) > 0;
}

/** Several jobs of one kind in one statement (one round trip); returns how many were new. */
export async function enqueueJobs<P>(
  db: DbOrTx,
  job: JobDefinition<P>,
  payloads: P[],
  options: EnqueueOptions = {},
): Promise<number> {
  if (payloads.length === 0) return 0;
  const result = await insertJobs(db, job, payloads, options).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

/**
 * The outbox insert of jobs, not yet run: for a statement that also makes the change they belong
 * to (as a data-modifying `with` query), so both cost one round trip. Same rules as enqueueJob.
 *
 * The rows go as two array parameters (the payloads as one JSON array, jsonRows, and the
 * deduplication ids), so the statement is the same text and plan for 1 job or 200: a VALUES list
 * binds four parameters a job (a batch of 100 won deals announces 200 events: 800 parameters to
 * parse and plan).
 */
export function insertJobs<P>(
  db: QueryCreator<Database>,
  job: JobDefinition<P>,
  payloads: P[],
  options: EnqueueOptions = {},
) {
  for (const payload of payloads) assertPayload(job, payload);
  const availableAt = options.delayMs ? new Date(Date.now() + options.delayMs).toISOString() : null;
  return db
    .insertInto('outbox')
    .columns(['job_name', 'queue', 'payload', 'dedup_id', 'available_at'])
    .expression(
      sql`select ${job.name}, ${job.queue}, v.payload, v.dedup_id, coalesce(${availableAt}::timestamptz, now())
        from rows from (
          ${jsonRows(payloads.map((payload) => JSON.stringify(payload)))},
          unnest(${payloads.map((payload) => job.dedupId?.(payload) ?? null)}::text[])
        ) as v(payload, dedup_id)`,
    )
    .onConflict((oc) => oc.columns(['job_name', 'dedup_id']).doNothing());
}
