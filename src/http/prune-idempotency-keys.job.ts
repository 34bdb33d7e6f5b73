import { sql } from 'kysely';
import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { IDEMPOTENCY_WINDOW_HOURS } from './idempotency.ts';

/** Deletes idempotency records past their window (they are ignored from then on anyway). */
export const pruneIdempotencyKeysJob = defineJob({
  name: 'idempotency.prune',
  queue: 'default',
  payload: Type.Object({ slot: Type.String() }),
  attempts: 3,
  dedupId: (payload) => payload.slot,
  async handle(_payload, { db }) {
    await db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', sql<Date>`now() - ${`${IDEMPOTENCY_WINDOW_HOURS} hours`}::interval`)
      .execute();
  },
});
