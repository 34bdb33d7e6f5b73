import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export type DealSource = 'hubspot' | 'salesforce' | 'api';
export type StageCategory = 'open' | 'won' | 'lost';

/** The app's mirror of a CRM deal (or of a deal fed through `POST /api/v1/deal-events`). */
export interface DealTable {
  id: Generated<string>;
  tenant_id: string;
  source: DealSource;
  /** The CRM's id (HubSpot deal id, Salesforce Opportunity id), or the API caller's id. */
  crm_deal_id: string;
  program_id: string | null;
  registration_id: string | null;
  name: string | null;
  pipeline: string | null;
  stage: string | null;
  stage_category: ColumnType<StageCategory, StageCategory | undefined, StageCategory>;
  /** Minor units of `currency`. */
  amount: bigint | null;
  currency: string | null;
  /** 'YYYY-MM-DD' */
  close_date: string | null;
  owner_id: string | null;
  /** CRM property values rules may test (`{ "dealtype": "newbusiness" }`). */
  properties: ColumnType<Record<string, string | null>, string | undefined, string>;
  deleted_at: Date | null;
  merged_into_crm_deal_id: string | null;
  /** ISO occurred-at of the last applied change per field: older events leave the field alone. */
  field_times: ColumnType<Record<string, string>, string | undefined, string>;
  last_event_at: Date | null;
  /** When the deal last became won (the event's occurred-at); null while it is not won. */
  won_at: Date | null;
  version: ColumnType<bigint, bigint | undefined, bigint>;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** Who is credited for a deal; `position` is the listing order that breaks split ties. */
export interface DealAttributionTable {
  tenant_id: string;
  deal_id: string;
  partner_id: string;
  role: ColumnType<string, string | undefined, string>;
  /** Exact decimal as text (numeric): the partner's relative weight in a split. */
  split_weight: ColumnType<string, string | undefined, string>;
  position: ColumnType<number, number | undefined, number>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

/** Every normalized deal event received, once per (source, source event id). */
export interface DealEventTable {
  id: Generated<string>;
  tenant_id: string;
  deal_id: string;
  source: string;
  source_event_id: string;
  type: string;
  occurred_at: Date;
  payload: ColumnType<Record<string, unknown>, string, never>;
  outcome: string;
  received_at: ColumnType<Date, Date | undefined, never>;
}

export type DealRow = Selectable<DealTable>;
export type NewDealRow = Insertable<DealTable>;
export type DealAttributionRow = Selectable<DealAttributionTable>;
export type DealEventRow = Selectable<DealEventTable>;
