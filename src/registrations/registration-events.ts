import { type AuditContext, type AuditEntry, insertAudit, writeAudit } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { insertEvents, type NewDomainEvent, publishEvent } from '../events/publish-event.ts';
import type { NewRegistrationRow, RegistrationRow } from './registration.table.ts';

/** What audit entries and events say of a registration. */
export type RecordedRegistration = Pick<
  RegistrationRow,
  | 'id'
  | 'tenant_id'
  | 'status'
  | 'check_outcome'
  | 'related_registration_id'
  | 'program_id'
  | 'partner_id'
  | 'company_name'
  | 'domain'
  | 'contact_email'
  | 'estimated_value'
  | 'currency'
  | 'override_reason'
  | 'rejection_reason'
  | 'approved_at'
  | 'approved_by'
  | 'protected_until'
  | 'extension_status'
>;

/** The part of a registration an audit entry shows before and after a change. */
export function auditState(row: RecordedRegistration) {
  return {
    status: row.status,
    checkOutcome: row.check_outcome,
    relatedRegistrationId: row.related_registration_id,
    programId: row.program_id,
    partnerId: row.partner_id,
    companyName: row.company_name,
    domain: row.domain,
    contactEmail: row.contact_email,
    estimatedValue: row.estimated_value,
    currency: row.currency,
    overrideReason: row.override_reason,
    rejectionReason: row.rejection_reason,
    approvedAt: row.approved_at?.toISOString() ?? null,
    approvedBy: row.approved_by,
    protectedUntil: row.protected_until?.toISOString() ?? null,
    extensionStatus: row.extension_status,
  };
}

/** One change of a registration: `registration.<what>` in the audit log and as a domain event. */
export interface RegistrationChange {
  action: string;
  before?: RecordedRegistration;
  after: RecordedRegistration;
  at: Date;
  data?: Record<string, unknown>;
}

function auditEntryOf(change: RegistrationChange): AuditEntry {
  return {
    action: change.action,
    subjectType: 'registration',
    subjectId: change.after.id,
    ...(change.before ? { before: auditState(change.before) } : {}),
    after: auditState(change.after),
  };
}

function eventOf(change: RegistrationChange): NewDomainEvent {
  const { after } = change;
  return {
    type: change.action,
    tenantId: after.tenant_id,
    subjectId: after.id,
    occurredAt: change.at,
    data: {
      registrationId: after.id,
      programId: after.program_id,
      partnerId: after.partner_id,
      status: after.status,
      checkOutcome: after.check_outcome,
      ...change.data,
    },
  };
}

/**
 * Records one change of a registration in its transaction: the audit entry, and the domain event
 * through the outbox. Every state change of this feature goes through here or
 * through insertRecordedRegistration.
 */
export async function recordChange(tx: Tx, audit: AuditContext, change: RegistrationChange): Promise<void> {
  await writeAudit(tx, audit, auditEntryOf(change));
  await publishEvent(tx, eventOf(change));
}

/**
 * Stores a new registration together with the audit entries and events of its first changes
 * (submitted, and conflict or automatic approval), in one statement: one round trip for what every
 * submission writes. `values` carries the id, so the entries can name the row before it exists.
 */
export async function insertRecordedRegistration(
  tx: Tx,
  values: NewRegistrationRow & { id: string },
  changes: { audit: AuditContext; change: RegistrationChange }[],
): Promise<RegistrationRow> {
  // The inserts are built on tx, not on the creator `with` hands over: only their SQL is used here.
  return tx
    .with('audit', () =>
      insertAudit(
        tx,
        changes.map(({ audit, change }) => ({ context: audit, entry: auditEntryOf(change) })),
      ),
    )
    .with('events', () =>
      insertEvents(
        tx,
        changes.map(({ change }) => eventOf(change)),
      ),
    )
    .with('registration', (db) => db.insertInto('registrations').values(values).returningAll())
    .selectFrom('registration')
    .selectAll()
    .executeTakeFirstOrThrow();
}
