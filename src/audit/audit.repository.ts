import type { DbOrTx } from '../db/database.ts';
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
  await db
    .insertInto('audit_log')
    .values({
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
    })
    .execute();
}

/** JSON that keeps bigint money exact (as a string of minor units). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
}
