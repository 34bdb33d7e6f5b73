import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/database.ts';
import type {
  AutoApproveRule,
  EnrolmentRow,
  FormField,
  ProgramRow,
} from '../../src/programs/program.table.ts';

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
