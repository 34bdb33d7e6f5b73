import { sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';

/**
 * Rapid changes of one stream (a deal's stage) make one email: each change records itself as the
 * stream's head if it is the newest by occurred-at, and its send job, delayed by the window, sends
 * only if it is still the head when it runs. The newest change therefore always sends, with the
 * latest state; out-of-order arrivals cannot make an older state win.
 */
export async function recordCoalesceHead(
  db: DbOrTx,
  input: { tenantId: string; key: string; eventId: string; occurredAt: Date },
): Promise<void> {
  await db
    .insertInto('email_coalesce_heads')
    .values({
      tenant_id: input.tenantId,
      coalesce_key: input.key,
      event_id: input.eventId,
      occurred_at: input.occurredAt,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'coalesce_key'])
        .doUpdateSet({
          event_id: sql`excluded.event_id`,
          occurred_at: sql`excluded.occurred_at`,
          updated_at: sql`now()`,
        })
        // Ties go to the larger event id, so every process agrees on one head.
        .where(
          sql<boolean>`(excluded.occurred_at, excluded.event_id) > (email_coalesce_heads.occurred_at, email_coalesce_heads.event_id)`,
        ),
    )
    .execute();
}

export async function isSuperseded(
  db: DbOrTx,
  tenantId: string,
  key: string,
  eventId: string,
): Promise<boolean> {
  const head = await db
    .selectFrom('email_coalesce_heads')
    .select(['event_id'])
    .where('tenant_id', '=', tenantId)
    .where('coalesce_key', '=', key)
    .executeTakeFirst();
  return head !== undefined && head.event_id !== eventId;
}
