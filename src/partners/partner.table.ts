import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type PartnerKind = 'referral' | 'delivery' | 'consultancy' | 'affiliate';
export const PARTNER_KINDS: PartnerKind[] = ['referral', 'delivery', 'consultancy', 'affiliate'];
export type PartnerStatus = 'invited' | 'active' | 'suspended' | 'archived';
export const PARTNER_STATUSES: PartnerStatus[] = ['invited', 'active', 'suspended', 'archived'];

export interface TierTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  /** Higher is better (Bronze 1, Silver 2, Gold 3). */
  rank: ColumnType<number, number | undefined, number>;
  /** Set from the clock on insert: lists page on it with millisecond cursors. */
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface PartnerTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  kind: PartnerKind;
  tier_id: string | null;
  status: ColumnType<PartnerStatus, PartnerStatus | undefined, PartnerStatus>;
  /** The partner above this one (lead agency → delivery partner → sub-contractor); never a cycle. */
  parent_id: string | null;
  /** The customer's own id for the partner; what a CSV re-import matches on. */
  external_id: string | null;
  payout_details: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** Set from the clock on insert: lists page on it with millisecond cursors. */
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface PartnerContactTable {
  id: Generated<string>;
  tenant_id: string;
  partner_id: string;
  name: string;
  /** Lower-cased. */
  email: string;
  role: string | null;
  /** Set from the clock on insert: lists page on it with millisecond cursors. */
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type TierRow = Selectable<TierTable>;
export type PartnerRow = Selectable<PartnerTable>;
export type NewPartnerRow = Insertable<PartnerTable>;
export type PartnerUpdate = Updateable<PartnerTable>;
export type PartnerContactRow = Selectable<PartnerContactTable>;
