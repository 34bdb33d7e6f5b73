import { Type } from 'typebox';
import { defineJob } from '../jobs/job.ts';
import { withLedgerRetry } from '../ledger/post-transaction.ts';
import { accrueRegistrationFees } from './registration-fee.ts';

/** Pays the flat fees of an approved registration; the event id deduplicates, the ledger key too. */
export const registrationFeeJob = defineJob({
  name: 'commissions.registration-fee',
  queue: 'default',
  payload: Type.Object({
    eventId: Type.String({ minLength: 1 }),
    tenantId: Type.String({ format: 'uuid' }),
    registrationId: Type.String({ format: 'uuid' }),
  }),
  attempts: 5,
  backoff: { type: 'exponential', delayMs: 2_000 },
  dedupId: (payload) => payload.eventId,
  async handle(payload, { db, log, services }) {
    const lines = await withLedgerRetry(db, (tx) =>
      accrueRegistrationFees(tx, services, {
        tenantId: payload.tenantId,
        registrationId: payload.registrationId,
      }),
    );
    if (lines.length > 0)
      log.info({ registrationId: payload.registrationId, lines: lines.length }, 'registration fees accrued');
  },
});
