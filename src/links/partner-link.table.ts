import type { ColumnType, Generated, Selectable } from 'kysely';

export type LinkPurpose = 'submit_registration' | 'view_referrals' | 'view_statements';
export const LINK_PURPOSES: LinkPurpose[] = ['submit_registration', 'view_referrals', 'view_statements'];

/** A signed, expiring, single-purpose link for one partner contact; revocable. Never a password. */
export interface PartnerLinkTable {
  id: Generated<string>;
  tenant_id: string;
  contact_id: string;
  purpose: LinkPurpose;
  program_id: string | null;
  expires_at: Date;
  revoked_at: Date | null;
  created_by: string | null;
  created_at: ColumnType<Date, never, never>;
  last_used_at: Date | null;
}

export type PartnerLinkRow = Selectable<PartnerLinkTable>;
