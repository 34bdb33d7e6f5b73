import type { ColumnType, Generated, Selectable } from 'kysely';

export type ActorType = 'api_key' | 'contact' | 'system' | 'cli';

export interface AuditLogTable {
  id: Generated<bigint>;
  tenant_id: string;
  actor_type: ActorType;
  actor_id: string | null;
  /** Dotted: `registration.approved`, `partner.moved`, `api_key.revoked`, … */
  action: string;
  subject_type: string;
  subject_id: string;
  before: ColumnType<unknown, string | null | undefined, never>;
  after: ColumnType<unknown, string | null | undefined, never>;
  /** Where it came from: api, form, referral_code, email, cli, job, … */
  source: string;
  ip: string | null;
  request_id: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type AuditLogRow = Selectable<AuditLogTable>;
