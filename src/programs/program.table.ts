import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type ProgramStatus = 'draft' | 'active' | 'closed';
export type EnrolmentStatus = 'pending' | 'active' | 'suspended' | 'left';

/** A field of a program's registration form beyond the standard ones. */
export interface FormField {
  key: string;
  label: string;
  type: 'text' | 'number' | 'date' | 'select';
  required: boolean;
  options?: string[];
}

/** When a registration is approved without a person: e.g. clear and the partner's tier is Gold. */
export interface AutoApproveRule {
  whenClear?: boolean;
  tierIds?: string[];
}

type Json<T> = ColumnType<T, string | undefined, string>;

export interface ProgramTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  status: ColumnType<ProgramStatus, ProgramStatus | undefined, ProgramStatus>;
  /** 'YYYY-MM-DD' calendar days in the tenant's time zone. */
  starts_on: string | null;
  ends_on: string | null;
  eligible_kinds: Json<string[]>;
  eligible_tier_ids: Json<string[]>;
  protection_days: ColumnType<number, number | undefined, number>;
  hold_days: ColumnType<number, number | undefined, number>;
  /** Minor units of `currency`. */
  minimum_payout: ColumnType<bigint, bigint | undefined, bigint>;
  currency: string;
  form_fields: Json<FormField[]>;
  auto_approve: Json<AutoApproveRule>;
  commission_plan_id: string | null;
  /** Set from the service clock on insert, so lists paginate on millisecond-exact values. */
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface EnrolmentTable {
  id: Generated<string>;
  tenant_id: string;
  program_id: string;
  partner_id: string;
  status: ColumnType<EnrolmentStatus, EnrolmentStatus | undefined, EnrolmentStatus>;
  /** Short, unambiguous, unique per tenant; resolves to this partner in this program. */
  referral_code: string;
  /** Set from the service clock on insert, so lists paginate on millisecond-exact values. */
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type ProgramRow = Selectable<ProgramTable>;
export type NewProgramRow = Insertable<ProgramTable>;
export type ProgramUpdate = Updateable<ProgramTable>;
export type EnrolmentRow = Selectable<EnrolmentTable>;
