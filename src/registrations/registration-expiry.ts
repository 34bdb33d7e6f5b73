import { sql } from 'kysely';
import type { AuditContext } from '../audit/audit.repository.ts';
import type { Db, Tx } from '../db/database.ts';
import { addLocalDays } from './protection-window.ts';
import type { RegistrationRow } from './registration.table.ts';
import { recordChange } from './registration-events.ts';

const BATCH = 200;

const systemAudit = (tenantId: string): AuditContext => ({
  tenantId,
  actorType: 'system',
  actorId: null,
  source: 'job',
});

async function expire(tx: Tx, row: RegistrationRow, now: Date, reason: string): Promise<void> {
  const after = await tx
    .updateTable('registrations')
    .set({ status: 'expired', updated_at: now })
    .where('tenant_id', '=', row.tenant_id)
    .where('id', '=', row.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordChange(tx, systemAudit(row.tenant_id), {
    action: 'registration.expired',
    before: row,
    after,
    at: now,
    data: { reason, protectedUntil: row.protected_until?.toISOString() ?? null },
  });
}

/** Approved registrations whose protection ended; exact in SQL, so each batch shrinks the set. */
async function expireApproved(db: Db, now: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await db.transaction().execute(async (tx) => {
      // skip locked: a row being changed right now (approved, extended, marked won) is left to
      // the next sweep, which re-reads it, rather than waiting on it.
      const rows = await tx
        .selectFrom('registrations')
        .selectAll()
        .where('status', '=', 'approved')
        .where('protected_until', '<=', now)
        .orderBy('protected_until')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const row of rows) await expire(tx, row, now, 'protection_ended');
      return rows.length;
    });
    total += done;
    if (done < BATCH) return total;
  }
}

/**
 * Submitted registrations nobody approved within a protection window of their creation. The window
 * is calendar days in the tenant's zone (protection-window.ts); SQL narrows the candidates with a
 * day of margin for DST, and the exact end is computed here, so the rule is the same one approval
 * uses. Walks the candidates by (created_at, id) so rows still inside their window are passed once.
 */
async function expireUnapproved(db: Db, now: Date): Promise<number> {
  let total = 0;
  let after: { at: Date; id: string } | undefined;
  for (;;) {
    const { seen, expired, last } = await db.transaction().execute(async (tx) => {
      let query = tx
        .selectFrom('registrations')
        .innerJoin('programs', (join) =>
          join
            .onRef('programs.id', '=', 'registrations.program_id')
            .onRef('programs.tenant_id', '=', 'registrations.tenant_id'),
        )
        .innerJoin('tenants', 'tenants.id', 'registrations.tenant_id')
        .selectAll('registrations')
        .select(['programs.protection_days', 'tenants.time_zone'])
        .where('registrations.status', '=', 'submitted')
        .where(
          sql<boolean>`registrations.created_at
            <= ${now}::timestamptz - make_interval(days => programs.protection_days - 1)`,
        );
      if (after) {
        const { at, id } = after;
        query = query.where((eb) =>
          eb.or([
            eb('registrations.created_at', '>', at),
            eb.and([eb('registrations.created_at', '=', at), eb('registrations.id', '>', id)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('registrations.created_at')
        .orderBy('registrations.id')
        .limit(BATCH)
        .forUpdate('registrations')
        .skipLocked()
        .execute();
      let expired = 0;
      for (const { protection_days, time_zone, ...row } of rows) {
        if (addLocalDays(row.created_at, protection_days, time_zone) > now) continue;
        await expire(tx, row, now, 'not_approved_in_time');
        expired++;
      }
      const lastRow = rows.at(-1);
      return { seen: rows.length, expired, last: lastRow && { at: lastRow.created_at, id: lastRow.id } };
    });
    total += expired;
    if (seen < BATCH || !last) return total;
    after = last;
  }
}

/**
 * Ends protection that has run out, as of `now`: approved registrations whose protected_until has
 * passed, and submitted ones never approved within a window of their creation, become `expired`,
 * each with an audit entry (actor system) and a `registration.expired` event. Commits in batches;
 * safe to run concurrently with itself. Returns how many expired.
 */
export async function expireRegistrations(db: Db, now: Date): Promise<number> {
  return (await expireApproved(db, now)) + (await expireUnapproved(db, now));
}
