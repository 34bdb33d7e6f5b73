import { sql } from 'kysely';
import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';

/**
 * Processes one inbox row with the processor of its source. The row is locked and marked processed
 * in the processor's own transaction: a second run (redelivery, retry after a crash) finds it
 * processed and does nothing.
 */
export const processInboxEventJob = defineJob({
  name: 'inbox.process',
  queue: 'default',
  payload: Type.Object({ inboxId: Type.String({ pattern: '^[0-9]+$' }) }),
  attempts: 8,
  backoff: { type: 'exponential', delayMs: 1_000 },
  dedupId: (payload) => payload.inboxId,
  async handle({ inboxId }, { db, log, services }) {
    await db.transaction().execute(async (tx) => {
      const event = await tx
        .selectFrom('inbox')
        .selectAll()
        .where('id', '=', BigInt(inboxId))
        .forUpdate()
        .executeTakeFirst();
      if (!event) {
        log.warn({ inboxId }, 'inbox row not found; nothing to process');
        return;
      }
      if (event.processed_at) return;
      const processor = services.inboxProcessors.get(event.source);
      if (!processor) throw new Error(`no inbox processor for source "${event.source}"`);
      const outcome = await processor(tx, event, { log, services });
      await tx
        .updateTable('inbox')
        .set({ processed_at: sql<Date>`now()`, outcome: outcome ?? 'processed' })
        .where('id', '=', event.id)
        .execute();
    });
  },
});
