import { randomUUID } from 'node:crypto';
import type { AuditContext } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { ProgramRow } from '../programs/program.table.ts';
import type { Services } from '../services.ts';
import { addLocalDays, localDate } from './protection-window.ts';
import { findSubmissionSubjects, type SubmissionSubjects } from './registration.repository.ts';
import type { RegistrationRow } from './registration.table.ts';
import { type ConflictSource, detectConflicts, lockProspect } from './registration-conflicts.ts';
import {
  insertRecordedRegistration,
  type RecordedRegistration,
  type RegistrationChange,
} from './registration-events.ts';
import {
  type FieldProblem,
  type SubmitRegistrationInput,
  validateSubmission,
} from './registration-validation.ts';

export type { ConflictSource } from './registration-conflicts.ts';
// The registration use cases. Submission is here; the later transitions and the expiry sweep live in
// their own files (one use case each, to keep files small) and are re-exported, so callers import
// everything from this one module.
export { expireRegistrations } from './registration-expiry.ts';
export {
  approveRegistration,
  decideExtension,
  markOutcome,
  overrideConflict,
  type RegistrationTarget,
  rejectRegistration,
  requestExtension,
} from './registration-transitions.ts';
export type { SubmitRegistrationInput } from './registration-validation.ts';

export interface SubmitContext {
  services: Services;
  audit: AuditContext;
  /** The CRM's view of open deals, when the tenant's CRM is connected (asked before the transaction). */
  conflictSource?: ConflictSource;
  /** Whether the CRM could answer: recorded with the check, so 'unavailable' is visible later. */
  crmCheck?: 'checked' | 'unavailable';
}

/** Refuses a submission the program does not take today (in the tenant's time zone): 422. */
function assertProgramOpen(program: ProgramRow, timeZone: string, now: Date): void {
  if (program.status !== 'active') {
    throw new AppError('unprocessable', `The program "${program.name}" is not open for registrations`, {
      programStatus: program.status,
    });
  }
  const today = localDate(now, timeZone);
  if (program.starts_on && today < program.starts_on) {
    throw new AppError('unprocessable', `The program "${program.name}" starts on ${program.starts_on}`);
  }
  if (program.ends_on && today > program.ends_on) {
    throw new AppError('unprocessable', `The program "${program.name}" ended on ${program.ends_on}`);
  }
}

/** Auto-approval by program rule: the check is clear and, when the rule lists tiers, the partner's is one. */
function autoApproves(
  program: ProgramRow,
  partner: NonNullable<SubmissionSubjects['partner']>,
  outcome: string,
): boolean {
  const rule = program.auto_approve ?? {};
  if (outcome !== 'clear' || rule.whenClear !== true) return false;
  const tiers = rule.tierIds ?? [];
  return tiers.length === 0 || (partner.tier_id !== null && tiers.includes(partner.tier_id));
}

/**
 * Submits a registration, from any source (API, public form, referral code, email), in the caller's
 * transaction: validates it (every field problem in one 400; 404 for an unknown program or partner;
 * 422 when the program or partner cannot take it), checks it against the tenant's active claims,
 * stores it, auto-approves it when the program says so, and records audit and events.
 */
export async function submitRegistration(
  tx: Tx,
  ctx: SubmitContext,
  input: SubmitRegistrationInput,
): Promise<RegistrationRow> {
  const now = ctx.services.clock.now();
  const subjects = await findSubmissionSubjects(tx, input);
  if (!subjects) throw new AppError('not_found', 'Tenant not found');
  const { program, partner, timeZone } = subjects;
  if (!program) throw new AppError('not_found', 'Program not found');
  if (!partner) throw new AppError('not_found', 'Partner not found');

  assertProgramOpen(program, timeZone, now);
  if (partner.status !== 'active') {
    throw new AppError('unprocessable', `The partner "${partner.name}" is ${partner.status}, not active`);
  }
  if (subjects.enrolmentStatus !== 'active') {
    throw new AppError(
      'unprocessable',
      `The partner "${partner.name}" is not enrolled in "${program.name}"`,
      {
        enrolmentStatus: subjects.enrolmentStatus,
      },
    );
  }

  const problems: FieldProblem[] = [];
  if (input.contactId && !subjects.contactId) {
    problems.push({ field: 'contactId', message: 'is not a contact of this partner' });
  }
  const clean = validateSubmission(input, program, problems);

  const prospect = {
    tenantId: input.tenantId,
    partnerId: partner.id,
    domain: clean.domain,
    contactEmail: clean.contactEmail,
    companyKey: clean.companyKey,
  };
  // Ask the CRM before taking the locks: its answer does not depend on them, and the locks should
  // be held for as short a time as possible.
  const crmDeals =
    ctx.conflictSource && (clean.domain || clean.contactEmail)
      ? await ctx.conflictSource.findOpenDeals(clean.domain, clean.contactEmail)
      : [];
  await lockProspect(tx, prospect);
  const check = await detectConflicts(tx, prospect, now, crmDeals);
  const approved = autoApproves(program, partner, check.outcome);

  // What the audit entries and events say of the new row, id included, known before it is stored:
  // they are written in the statement that inserts it.
  const recorded: RecordedRegistration = {
    id: randomUUID(),
    tenant_id: input.tenantId,
    program_id: program.id,
    partner_id: partner.id,
    status: approved ? 'approved' : 'submitted',
    check_outcome: check.outcome,
    related_registration_id: check.relatedRegistrationId,
    company_name: clean.companyName,
    domain: clean.domain,
    contact_email: clean.contactEmail,
    estimated_value: clean.estimatedValue,
    currency: clean.currency,
    override_reason: null,
    rejection_reason: null,
    approved_at: approved ? now : null,
    approved_by: approved ? 'auto_approve' : null,
    protected_until: approved ? addLocalDays(now, program.protection_days, timeZone) : null,
    extension_status: 'none',
  };
  const changes: { audit: AuditContext; change: RegistrationChange }[] = [
    {
      audit: ctx.audit,
      change: {
        action: 'registration.submitted',
        after: recorded,
        at: now,
        data: { source: input.source, relatedRegistrationId: recorded.related_registration_id },
      },
    },
  ];
  if (check.outcome === 'conflict_with') {
    changes.push({
      audit: ctx.audit,
      change: {
        action: 'registration.conflict',
        after: recorded,
        at: now,
        data: { relatedRegistrationId: recorded.related_registration_id, details: check.details },
      },
    });
  }
  if (approved) {
    changes.push({
      audit: { ...ctx.audit, actorType: 'system', actorId: 'auto_approve' },
      change: {
        action: 'registration.approved',
        after: recorded,
        at: now,
        data: { automatic: true, protectedUntil: recorded.protected_until?.toISOString() ?? null },
      },
    });
  }

  const row = await insertRecordedRegistration(
    tx,
    {
      ...recorded,
      contact_id: input.contactId ?? null,
      source: input.source,
      company_key: clean.companyKey,
      website: clean.website,
      contact_name: clean.contactName,
      expected_close: clean.expectedClose,
      notes: clean.notes,
      custom_fields: JSON.stringify(clean.customFields),
      check_details: JSON.stringify(
        ctx.crmCheck ? { ...check.details, crmCheck: ctx.crmCheck } : check.details,
      ),
      // From the service clock, not the database's now(): lists page on it (see pagination.ts), and
      // protection windows of never-approved registrations run from it.
      created_at: now,
      updated_at: now,
    },
    changes,
  );
  return row;
}
