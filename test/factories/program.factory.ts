import { randomBytes } from 'node:crypto';
import { addRuleVersion, createPlan } from '../../src/commissions/commission-plan.repository.ts';
import type { Db } from '../../src/db/database.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import type {
  AutoApproveRule,
  EnrolmentRow,
  FormField,
  ProgramRow,
} from '../../src/programs/program.table.ts';
import { makePartner } from './partner.factory.ts';

export async function makeProgram(
  db: Db,
  tenantId: string,
  overrides: {
    name?: string;
    currency?: string;
    protectionDays?: number;
    holdDays?: number;
    formFields?: FormField[];
    autoApprove?: AutoApproveRule;
    eligibleKinds?: string[];
    eligibleTierIds?: string[];
  } = {},
): Promise<ProgramRow> {
  return db
    .insertInto('programs')
    .values({
      tenant_id: tenantId,
      name: overrides.name ?? `Program ${randomBytes(3).toString('hex')}`,
      currency: overrides.currency ?? 'USD',
      protection_days: overrides.protectionDays ?? 90,
      hold_days: overrides.holdDays ?? 30,
      form_fields: JSON.stringify(overrides.formFields ?? []),
      auto_approve: JSON.stringify(overrides.autoApprove ?? {}),
      eligible_kinds: JSON.stringify(overrides.eligibleKinds ?? []),
      eligible_tier_ids: JSON.stringify(overrides.eligibleTierIds ?? []),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Enrols a partner directly (the API's eligibility checks are tested on their own). */
export async function makeEnrolment(
  db: Db,
  tenantId: string,
  programId: string,
  partnerId: string,
  referralCode = randomBytes(4).toString('hex').toUpperCase(),
): Promise<EnrolmentRow> {
  return db
    .insertInto('enrolments')
    .values({
      tenant_id: tenantId,
      program_id: programId,
      partner_id: partnerId,
      referral_code: referralCode,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * A USD program whose plan pays a revenue share (one rule, `share`, in force since 2020; 10 % unless
 * told) and an active partner to credit deals to (not enrolled: deals are attributed directly).
 */
export async function makeRevenueShareProgram(
  db: Db,
  tenantId: string,
  options: { rate?: string; partnerName?: string } = {},
): Promise<{ program: ProgramRow; partner: PartnerRow }> {
  const program = await makeProgram(db, tenantId);
  const partner = await makePartner(db, tenantId, options.partnerName ? { name: options.partnerName } : {});
  await db.transaction().execute(async (tx) => {
    const plan = await createPlan(tx, { tenantId, programId: program.id, name: 'Revenue share' });
    await addRuleVersion(tx, {
      tenantId,
      planId: plan.id,
      ruleKey: 'share',
      type: 'revenue_share',
      config: { rate: options.rate ?? '0.1' },
      conditions: {},
      effectiveFrom: new Date('2020-01-01T00:00:00Z'),
    });
  });
  return { program, partner };
}
