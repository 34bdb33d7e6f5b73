import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type RetainerAgreementStatus = 'active' | 'ended';

/** A fixed monthly amount owed to a partner while the agreement is active (tenant time zone). */
export interface RetainerAgreementTable {
  id: Generated<string>;
  tenant_id: string;
  partner_id: string;
  program_id: string;
  /** The program's retainer rule (its success fee is the commission engine's business). */
  rule_id: string | null;
  /** Minor units of `currency`, accrued in full each month (no proration). */
  monthly_amount: bigint;
  currency: string;
  /** 'YYYY-MM-DD' in the tenant's time zone. */
  active_from: ColumnType<string, string, string>;
  /** Last active day, inclusive; null while open-ended. */
  active_to: ColumnType<string | null, string | null | undefined, string | null>;
  status: ColumnType<RetainerAgreementStatus, RetainerAgreementStatus | undefined, RetainerAgreementStatus>;
  ended_at: Date | null;
  ended_by: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type RetainerAgreementRow = Selectable<RetainerAgreementTable>;
export type NewRetainerAgreementRow = Insertable<RetainerAgreementTable>;
export type RetainerAgreementUpdate = Updateable<RetainerAgreementTable>;
