import type { AuditContext } from '../audit/audit.repository.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import { AppError } from '../errors/app-error.ts';
import { findPartner } from '../partners/partner.repository.ts';
import { findProgram } from '../programs/program.repository.ts';
import { localDate } from '../registrations/protection-window.ts';
import type { Services } from '../services.ts';
import { findTenant } from '../tenants/tenant.repository.ts';
import { monthOfDay } from './recurring-calendar.ts';
import { retainerCauseKey, retainerMonthsDue } from './retainer-accrual.ts';
import {
  insertRetainerAgreement,
  lockRetainerAgreement,
  postedCauseKeys,
  updateRetainerAgreement,
} from './retainer-agreement.repository.ts';
import type { RetainerAgreementRow } from './retainer-agreement.table.ts';

export interface RetainerAgreementInput {
  tenantId: string;
  partnerId: string;
  programId: string;
  ruleId: string | null;
  monthlyAmount: bigint;
  currency: string | null;
  activeFrom: string;
  activeTo: string | null;
}

interface Ctx {
  services: Services;
  audit: AuditContext;
}

const invalid = (field: string, message: string) =>
  new AppError('validation_failed', message, { fields: [{ field, message }] });

/**
 * A new agreement. It is paid in the program's currency: the ledger accounts of a program are kept
 * in the currency its payouts are made in, and a retainer has no deal currency to convert from.
 */
export async function createRetainerAgreement(
  tx: Tx,
  ctx: Ctx,
  input: RetainerAgreementInput,
): Promise<RetainerAgreementRow> {
  const partner = await findPartner(tx, input.tenantId, input.partnerId);
  if (!partner) throw new AppError('not_found', 'Partner not found');
  const program = await findProgram(tx, input.tenantId, input.programId);
  if (!program) throw new AppError('not_found', 'Program not found');
  const currency = input.currency ?? program.currency;
  if (currency !== program.currency) {
    throw invalid('body.currency', `must be the program's currency (${program.currency})`);
  }
  if (input.activeTo !== null && input.activeTo < input.activeFrom) {
    throw invalid('body.activeTo', 'must be on or after activeFrom');
  }
  if (input.ruleId !== null && !(await isRetainerRuleOf(tx, input.tenantId, input.programId, input.ruleId))) {
    throw invalid('body.ruleId', "must be a retainer rule of the program's commission plan");
  }
  const row = await insertRetainerAgreement(tx, {
    tenant_id: input.tenantId,
    partner_id: input.partnerId,
    program_id: input.programId,
    rule_id: input.ruleId,
    monthly_amount: input.monthlyAmount,
    currency,
    active_from: input.activeFrom,
    active_to: input.activeTo,
  });
  await writeAudit(tx, ctx.audit, {
    action: 'retainer_agreement.created',
    subjectType: 'retainer_agreement',
    subjectId: row.id,
    after: row,
  });
  return row;
}

/**
 * Ends an agreement after `lastDay` (default: today in the tenant's time zone). Months already
 * accrued stay paid, so the last day may not precede the 1st of the latest accrued month.
 */
export async function endRetainerAgreement(
  tx: Tx,
  ctx: Ctx,
  target: { tenantId: string; agreementId: string; lastDay?: string | undefined },
): Promise<RetainerAgreementRow> {
  const agreement = await lockRetainerAgreement(tx, target.tenantId, target.agreementId);
  if (!agreement) throw new AppError('not_found', 'Retainer agreement not found');
  if (agreement.status === 'ended') {
    throw new AppError('invalid_transition', 'The retainer agreement has already ended');
  }
  const now = ctx.services.clock.now();
  const zone = (await findTenant(tx, target.tenantId))?.time_zone ?? 'UTC';
  const lastDay = target.lastDay ?? localDate(now, zone);
  if (lastDay < agreement.active_from) throw invalid('body.lastDay', 'must be on or after activeFrom');
  if (agreement.active_to !== null && lastDay > agreement.active_to) {
    throw invalid('body.lastDay', 'must be on or before the agreement’s current last day');
  }
  const everDue = retainerMonthsDue({ active_from: agreement.active_from, active_to: null }, now, zone);
  const posted = await postedCauseKeys(
    tx,
    target.tenantId,
    everDue.map((m) => retainerCauseKey(agreement.id, m)),
  );
  const lastPosted = everDue.filter((m) => posted.has(retainerCauseKey(agreement.id, m))).at(-1);
  if (lastPosted !== undefined && monthOfDay(lastDay) < lastPosted) {
    throw new AppError('conflict', `The month ${lastPosted} is already accrued: end on or after its 1st`, {
      lastAccruedMonth: lastPosted,
    });
  }
  const row = await updateRetainerAgreement(tx, target.tenantId, agreement.id, {
    status: 'ended',
    active_to: lastDay,
    ended_at: now,
    ended_by: ctx.audit.actorId,
    updated_at: now,
  });
  await writeAudit(tx, ctx.audit, {
    action: 'retainer_agreement.ended',
    subjectType: 'retainer_agreement',
    subjectId: row.id,
    before: agreement,
    after: row,
  });
  return row;
}

/** Whether the rule (any version) is a retainer rule of one of the program's plans. */
async function isRetainerRuleOf(
  tx: Tx,
  tenantId: string,
  programId: string,
  ruleId: string,
): Promise<boolean> {
  if (!isUuid(ruleId)) return false;
  const row = await tx
    .selectFrom('commission_rules as r')
    .innerJoin('commission_plans as p', (join) =>
      join.onRef('p.tenant_id', '=', 'r.tenant_id').onRef('p.id', '=', 'r.plan_id'),
    )
    .select('r.id')
    .where('r.tenant_id', '=', tenantId)
    .where('r.id', '=', ruleId)
    .where('r.type', '=', 'retainer')
    .where('p.program_id', '=', programId)
    .executeTakeFirst();
  return row !== undefined;
}
