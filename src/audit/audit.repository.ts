import type { QueryCreator } from 'kysely';
import type { Database, DbOrTx } from '../db/database.ts';
import type { ActorType } from './audit.table.ts';

/** Who acted, and from where: taken from the request (or the CLI, or a job) and written with each change. */
export interface AuditContext {
  tenantId: string;
  actorType: ActorType;
  actorId: string | null;
  source: string;
  ip?: string | null;
  requestId?: string | null;
}

export interface AuditEntry {
  action: string;
  subjectType: string;
  subjectId: string;
  before?: unknown;
  after?: unknown;
}

/** Writes one audit entry; call it in the transaction of the change it records. */
export async function writeAudit(db: DbOrTx, context: AuditContext, entry: AuditEntry): Promise<void> {
  await insertAudit(db, [{ context, entry }]).execute();
}

/**
 * The insert of audit entries, not yet run: for a statement that also makes the change they record
 * (as a data-modifying `with` query), so the change and its audit cost one round trip.
 */
export function insertAudit(
  db: QueryCreator<Database>,
  entries: { context: AuditContext; entry: AuditEntry }[],
) {
  return db.insertInto('audit_log').values(
    entries.map(({ context, entry }) => ({
      tenant_id: context.tenantId,
      actor_type: context.actorType,
      actor_id: context.actorId,
      action: entry.action,
      subject_type: entry.subjectType,
      subject_id: entry.subjectId,
      before: entry.before === undefined ? null : toJson(entry.before),
      after: entry.after === undefined ? null : toJson(entry.after),
      source: context.source,
      ip: context.ip ?? null,
      request_id: context.requestId ?? null,
    })),
  );
}

/** JSON that keeps bigint money exact (as a string of minor units). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
}
