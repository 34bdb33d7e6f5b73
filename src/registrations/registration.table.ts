import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type RegistrationStatus = 'submitted' | 'approved' | 'rejected' | 'won' | 'lost' | 'expired';
export type RegistrationSource = 'api' | 'form' | 'referral_code' | 'email';
export type CheckOutcome = 'clear' | 'duplicate_of' | 'conflict_with';
export type ExtensionStatus = 'none' | 'requested' | 'approved' | 'rejected';

export interface RegistrationTable {
  id: Generated<string>;
  tenant_id: string;
  program_id: string;
  partner_id: string;
  /** The partner contact who submitted it, when a contact did. */
  contact_id: string | null;
  source: RegistrationSource;
  company_name: string;
  /** The company name normalised for matching (case, accents, punctuation, legal suffixes). */
  company_key: string;
  website: string | null;
  /** Registrable domain (public-suffix aware), lower-case, no scheme or www. */
  domain: string | null;
  contact_name: string | null;
  /** Lower-cased. */
  contact_email: string | null;
  /** Minor units of `currency`. */
  estimated_value: bigint | null;
  currency: string | null;
  expected_close: string | null;
  notes: string | null;
  custom_fields: ColumnType<Record<string, unknown>, string | undefined, string>;
  status: ColumnType<RegistrationStatus, RegistrationStatus | undefined, RegistrationStatus>;
  check_outcome: ColumnType<CheckOutcome, CheckOutcome | undefined, CheckOutcome>;
  related_registration_id: string | null;
  check_details: ColumnType<Record<string, unknown>, string | undefined, string>;
  override_reason: string | null;
  rejection_reason: string | null;
  approved_at: Date | null;
  approved_by: string | null;
  protected_until: Date | null;
  extension_status: ColumnType<ExtensionStatus, ExtensionStatus | undefined, ExtensionStatus>;
  extension_requested_at: Date | null;
  crm_deal_id: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type RegistrationRow = Selectable<RegistrationTable>;
export type NewRegistrationRow = Insertable<RegistrationTable>;
export type RegistrationUpdate = Updateable<RegistrationTable>;
