import type { AuditContext } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { Services } from '../services.ts';
import { findTenant } from '../tenants/tenant.repository.ts';
import { addLocalDays } from './protection-window.ts';
import { lockRegistration, type RegistrationScope, updateRegistration } from './registration.repository.ts';
import type { RegistrationRow, RegistrationUpdate } from './registration.table.ts';
import { recordChange } from './registration-events.ts';

/*
 * Every change after submission: lock the row, check that its current state allows the change
 * (409 `invalid_transition` otherwise), write it, and record audit and event, in the caller's
 * transaction.
 *
 *   submitted ──approve──> approved ──won/lost──> won | lost
 *       │                     │ └─(protection ends)─> expired
 *       └──reject──> rejected └─extension: none → requested → approved | rejected (once)
 */

export interface TransitionContext {
  services: Services;
  audit: AuditContext;
}

/** Which registration: in the tenant, and for a partner contact, in its partner's subtree. */
export interface RegistrationTarget {
  tenantId: string;
  registrationId: string;
  scope?: RegistrationScope;
}

function invalid(row: RegistrationRow, what: string): AppError {
  return new AppError('invalid_transition', `Cannot ${what}: the registration is ${row.status}`, {
    status: row.status,
    extensionStatus: row.extension_status,
  });
}

function requireReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed === '') {
    throw new AppError('validation_failed', 'A reason is required', {
      fields: [{ field: 'reason', message: 'is required' }],
    });
  }
  return trimmed;
}

/** Locks the registration, lets `decide` check it and say what changes, then writes and records it. */
async function transition(
  tx: Tx,
  ctx: TransitionContext,
  target: RegistrationTarget,
  decide: (
    row: RegistrationRow,
    now: Date,
  ) => Promise<{ action: string; set: RegistrationUpdate; data?: Record<string, unknown> }>,
): Promise<RegistrationRow> {
  const now = ctx.services.clock.now();
  const before = await lockRegistration(tx, target.tenantId, target.registrationId, target.scope);
  if (!before) throw new AppError('not_found', 'Registration not found');
  const { action, set, data } = await decide(before, now);
  const after = await updateRegistration(tx, target.tenantId, before.id, { ...set, updated_at: now });
  await recordChange(tx, ctx.audit, { action, before, after, at: now, ...(data ? { data } : {}) });
  return after;
}

/** The tenant's time zone and the program's protection window, for protected_until. */
async function window(tx: Tx, row: RegistrationRow): Promise<{ timeZone: string; days: number }> {
  const tenant = await findTenant(tx, row.tenant_id);
  const program = await tx
    .selectFrom('programs')
    .select('protection_days')
    .where('tenant_id', '=', row.tenant_id)
    .where('id', '=', row.program_id)
    .executeTakeFirstOrThrow();
  return { timeZone: tenant?.time_zone ?? 'UTC', days: program.protection_days };
}

/**
 * Approves a submitted, clear registration. Protected until the same local time `protection_days`
 * calendar days later in the tenant's time zone. A registration in conflict needs an override first.
 */
export async function approveRegistration(tx: Tx, ctx: TransitionContext, target: RegistrationTarget) {
  return transition(tx, ctx, target, async (row, now) => {
    if (row.status !== 'submitted') throw invalid(row, 'approve');
    if (row.check_outcome !== 'clear') {
      const finding = row.check_outcome === 'duplicate_of' ? 'a duplicate of' : 'in conflict with';
      throw new AppError(
        'registration_conflict',
        `Cannot approve: the registration is ${finding} another claim; an admin can override with a reason`,
        { checkOutcome: row.check_outcome, relatedRegistrationId: row.related_registration_id },
      );
    }
    const { timeZone, days } = await window(tx, row);
    const protectedUntil = addLocalDays(now, days, timeZone);
    return {
      action: 'registration.approved',
      set: {
        status: 'approved',
        approved_at: now,
        approved_by: ctx.audit.actorId ?? ctx.audit.actorType,
        protected_until: protectedUntil,
      },
      data: { automatic: false, protectedUntil: protectedUntil.toISOString() },
    };
  });
}

export async function rejectRegistration(
  tx: Tx,
  ctx: TransitionContext,
  target: RegistrationTarget,
  reason: string,
) {
  const why = requireReason(reason);
  return transition(tx, ctx, target, async (row) => {
    if (row.status !== 'submitted') throw invalid(row, 'reject');
    return {
      action: 'registration.rejected',
      set: { status: 'rejected', rejection_reason: why },
      data: { reason: why },
    };
  });
}

/**
 * An admin's decision that a registration in conflict (or a duplicate) stands: it becomes clear, so
 * it can be approved. The original finding stays in check_details and related_registration_id.
 */
export async function overrideConflict(
  tx: Tx,
  ctx: TransitionContext,
  target: RegistrationTarget,
  reason: string,
) {
  const why = requireReason(reason);
  return transition(tx, ctx, target, async (row, now) => {
    if (row.status !== 'submitted') throw invalid(row, 'override the conflict check');
    if (row.check_outcome === 'clear') {
      throw new AppError('invalid_transition', 'Nothing to override: the registration is clear', {
        checkOutcome: row.check_outcome,
      });
    }
    return {
      action: 'registration.conflict_overridden',
      set: {
        check_outcome: 'clear',
        override_reason: why,
        check_details: JSON.stringify({
          ...row.check_details,
          overridden: { from: row.check_outcome, at: now.toISOString(), by: ctx.audit.actorId },
        }),
      },
      data: { reason: why, from: row.check_outcome },
    };
  });
}

/** A partner contact's or staff member's request for more protection: once, while protected. */
export async function requestExtension(tx: Tx, ctx: TransitionContext, target: RegistrationTarget) {
  return transition(tx, ctx, target, async (row, now) => {
    if (row.status !== 'approved' || !row.protected_until || row.protected_until <= now) {
      throw invalid(row, 'request an extension (only while approved and protected)');
    }
    if (row.extension_status !== 'none') {
      throw new AppError('invalid_transition', 'An extension can be requested only once per registration', {
        status: row.status,
        extensionStatus: row.extension_status,
      });
    }
    return {
      action: 'registration.extension_requested',
      set: { extension_status: 'requested', extension_requested_at: now },
    };
  });
}

/** Approving an extension adds another protection window after the current protected_until. */
export async function decideExtension(
  tx: Tx,
  ctx: TransitionContext,
  target: RegistrationTarget,
  decision: 'approve' | 'reject',
) {
  return transition(tx, ctx, target, async (row) => {
    if (row.status !== 'approved' || row.extension_status !== 'requested' || !row.protected_until) {
      throw new AppError('invalid_transition', `Cannot ${decision} the extension: none is pending`, {
        status: row.status,
        extensionStatus: row.extension_status,
      });
    }
    if (decision === 'reject') {
      return { action: 'registration.extension_rejected', set: { extension_status: 'rejected' } };
    }
    const { timeZone, days } = await window(tx, row);
    const protectedUntil = addLocalDays(row.protected_until, days, timeZone);
    return {
      action: 'registration.extension_approved',
      set: { extension_status: 'approved', protected_until: protectedUntil },
      data: { protectedUntil: protectedUntil.toISOString() },
    };
  });
}

/** The prospect's deal was won or lost (set by staff now, by the CRM sync later). */
export async function markOutcome(
  tx: Tx,
  ctx: TransitionContext,
  target: RegistrationTarget,
  outcome: 'won' | 'lost',
) {
  return transition(tx, ctx, target, async (row) => {
    if (row.status !== 'approved') throw invalid(row, `mark it ${outcome}`);
    return { action: `registration.${outcome}`, set: { status: outcome } };
  });
}
