import { type AuditContext, writeAudit } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { publishEvent } from '../events/publish-event.ts';
import type { RegistrationRow } from './registration.table.ts';

/** The part of a registration an audit entry shows before and after a change. */
export function auditState(row: RegistrationRow) {
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

/**
 * Records one change of a registration in its transaction: the audit entry, and the domain event
 * (`registration.<what>`) through the outbox. Every state change of this feature goes through here.
 */
export async function recordChange(
  tx: Tx,
  audit: AuditContext,
  change: {
    action: string;
    before?: RegistrationRow;
    after: RegistrationRow;
    at: Date;
    data?: Record<string, unknown>;
  },
): Promise<void> {
  const { after } = change;
  await writeAudit(tx, audit, {
    action: change.action,
    subjectType: 'registration',
    subjectId: after.id,
    ...(change.before ? { before: auditState(change.before) } : {}),
    after: auditState(after),
  });
  await publishEvent(tx, {
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
  });
}
