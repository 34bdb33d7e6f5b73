import { sql } from 'kysely';
import type { Db, DbOrTx } from '../../db/database.ts';
import { enqueueJob } from '../../jobs/enqueue.ts';
import { rereadDealsJob } from '../reread-deals.job.ts';
import type { ChangeCaptureMode, SalesforceChangeStreamRow } from './salesforce-change-stream.table.ts';

/** How long Salesforce retains change events for replay (72 hours). */
const RETENTION_MS = 72 * 60 * 60_000;

/** A Salesforce tenant whose changes we should be receiving, and how. */
export interface ChangeCaptureTenant {
  tenantId: string;
  orgId: string;
  mode: ChangeCaptureMode;
}

/** Active Salesforce tenants with a connected CRM connection, with their mode (CDC until said otherwise). */
export async function changeCaptureTenants(
  db: DbOrTx,
  mode?: ChangeCaptureMode,
): Promise<ChangeCaptureTenant[]> {
  let query = db
    .selectFrom('tenants')
    .innerJoin('crm_connections', 'crm_connections.tenant_id', 'tenants.id')
    .leftJoin('salesforce_change_streams as s', 's.tenant_id', 'tenants.id')
    .select([
      'tenants.id as tenantId',
      'crm_connections.account_id as orgId',
      sql<ChangeCaptureMode>`coalesce(s.mode, 'cdc')`.as('mode'),
    ])
    .where('tenants.crm_kind', '=', 'salesforce')
    .where('tenants.status', '=', 'active')
    .where('crm_connections.status', '=', 'connected');
  if (mode) query = query.where(sql<ChangeCaptureMode>`coalesce(s.mode, 'cdc')`, '=', mode);
  return query.orderBy('tenants.id').execute();
}

export function findChangeStream(
  db: DbOrTx,
  tenantId: string,
): Promise<SalesforceChangeStreamRow | undefined> {
  return db
    .selectFrom('salesforce_change_streams')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
}

/** Sets the tenant's mode and why; returns the row as it is now. */
export function setChangeCaptureMode(
  db: DbOrTx,
  tenantId: string,
  mode: ChangeCaptureMode,
  reason: string,
): Promise<SalesforceChangeStreamRow> {
  return db
    .insertInto('salesforce_change_streams')
    .values({ tenant_id: tenantId, mode, mode_reason: reason })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet({ mode, mode_reason: reason, updated_at: sql<Date>`now()` }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Takes or renews the tenant's stream lease for `owner` (database time, so processes' clocks do
 * not matter): granted when nobody holds it, `owner` already does, or the holder's lease expired.
 * Returns the row when granted (its replay id is where the stream resumes), undefined otherwise.
 */
export function acquireStreamLease(
  db: DbOrTx,
  tenantId: string,
  owner: string,
  leaseMs: number,
): Promise<SalesforceChangeStreamRow | undefined> {
  const expires = sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`;
  return db
    .insertInto('salesforce_change_streams')
    .values({ tenant_id: tenantId, lease_owner: owner, lease_expires_at: expires })
    .onConflict((oc) =>
      oc
        .column('tenant_id')
        .doUpdateSet({ lease_owner: owner, lease_expires_at: expires })
        .where((eb) =>
          eb.or([
            eb('salesforce_change_streams.lease_owner', 'is', null),
            eb('salesforce_change_streams.lease_owner', '=', owner),
            eb('salesforce_change_streams.lease_expires_at', '<', sql<Date>`now()`),
          ]),
        ),
    )
    .returningAll()
    .executeTakeFirst();
}

/** Gives the lease up (a stopping process), so another one may take the stream at once. */
export async function releaseStreamLease(db: DbOrTx, tenantId: string, owner: string): Promise<void> {
  await db
    .updateTable('salesforce_change_streams')
    .set({ lease_owner: null, lease_expires_at: null })
    .where('tenant_id', '=', tenantId)
    .where('lease_owner', '=', owner)
    .execute();
}

/**
 * Records how far the stream has stored events, only while `owner` holds the lease (a process that
 * lost it must not move the replay id of the one that took over). False when it no longer holds it.
 */
export async function advanceReplayId(
  db: DbOrTx,
  tenantId: string,
  owner: string,
  replayId: string,
  at: Date,
): Promise<boolean> {
  const updated = await db
    .updateTable('salesforce_change_streams')
    .set({ replay_id: replayId, replayed_at: at, last_error: null, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return updated.numUpdatedRows > 0n;
}

/**
 * The stored replay id is past retention: the next subscription replays every retained event (-2),
 * and the opportunities modified since the last stored event are re-read, in one transaction.
 */
export async function forgetReplayId(db: Db, tenantId: string, now: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = await findChangeStream(tx, tenantId);
    await tx
      .updateTable('salesforce_change_streams')
      .set({ replay_id: null, updated_at: sql<Date>`now()` })
      .where('tenant_id', '=', tenantId)
      .execute();
    const since = row?.replayed_at ?? new Date(now.getTime() - RETENTION_MS);
    await enqueueJob(tx, rereadDealsJob, {
      tenantId,
      reason: `replay-expired:${since.toISOString()}`,
      since: since.toISOString(),
    });
  });
}

export async function recordStreamError(db: DbOrTx, tenantId: string, message: string): Promise<void> {
  await db
    .updateTable('salesforce_change_streams')
    .set({ last_error: message.slice(0, 500), updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .execute();
}

/** Moves the polling cursor forward (never back). */
export async function advancePollingCursor(db: DbOrTx, tenantId: string, polledUntil: Date): Promise<void> {
  await db
    .insertInto('salesforce_change_streams')
    .values({ tenant_id: tenantId, polled_until: polledUntil })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet({
        polled_until: sql<Date>`greatest(salesforce_change_streams.polled_until, excluded.polled_until)`,
        updated_at: sql<Date>`now()`,
      }),
    )
    .execute();
}
