import type { LinkPurpose } from '../links/partner-link.table.ts';
import type { CrmKind, StaffRole } from '../tenants/tenant.table.ts';

/** A tenant's staff member, authenticated by an API key (later: by CRM sign-in). */
export interface StaffActor {
  kind: 'staff';
  tenantId: string;
  role: StaffRole;
  apiKeyId: string;
  /** The tenant's CRM, 'none' when it has none (then it has no CRM connection to ask either). */
  crmKind: CrmKind;
}

/** A partner contact, authenticated by a signed link for one purpose. Sees its partner's subtree only. */
export interface ContactActor {
  kind: 'contact';
  tenantId: string;
  contactId: string;
  partnerId: string;
  linkId: string;
  purpose: LinkPurpose;
  programId: string | null;
}

export type Actor = StaffActor | ContactActor;
