import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Database, Tx } from '../db/database.ts';
import { withoutNul } from '../db/nul-characters.ts';
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
        // Kept whole, but a NUL character (which jsonb cannot hold) as U+FFFD.
        payload: JSON.stringify(withoutNul(event.payload)),
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

/**
 * Up to `limit` of a tenant's other pending events of one source, locked, oldest first, skipping
 * those another job holds (that job processes them): what a CRM inbox job takes into its batch
 * besides its own event. `narrow` keeps only the events the job can batch.
 */
export async function lockPendingEvents(
  tx: Tx,
  source: string,
  tenantId: string,
  options: {
    exclude: readonly bigint[];
    limit: number;
    narrow?: (eb: ExpressionBuilder<Database, 'inbox'>) => Expression<SqlBool>;
  },
) {
  if (options.limit <= 0) return [];
  return tx
    .selectFrom('inbox')
    .selectAll()
    .where('source', '=', source)
    .where('tenant_id', '=', tenantId)
    .where('processed_at', 'is', null)
    .$if(options.exclude.length > 0, (qb) => qb.where('id', 'not in', [...options.exclude]))
    .$if(options.narrow !== undefined, (qb) => qb.where(options.narrow!))
    .orderBy('id')
    .limit(options.limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/**
 * Marks the events a job processed with its own event (`leadId`, which the job marks itself), in one
 * statement: each with its outcome and "(with <lead id>)".
 */
export async function markProcessedWith(
  tx: Tx,
  leadId: bigint,
  outcomes: { id: bigint; outcome: string }[],
): Promise<void> {
  if (outcomes.length === 0) return;
  await sql`
    update inbox as i set processed_at = now(), outcome = v.outcome
    from unnest(
      ${outcomes.map((o) => o.id.toString())}::bigint[],
      ${outcomes.map((o) => `${o.outcome} (with ${leadId})`)}::text[]
    ) as v(id, outcome)
    where i.id = v.id`.execute(tx);
}
