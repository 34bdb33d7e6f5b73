import type { ColumnType, Selectable } from 'kysely';

export type StageCategory = 'open' | 'won' | 'lost';
export const STAGE_CATEGORIES: StageCategory[] = ['open', 'won', 'lost'];

export interface CrmStageMappingTable {
  tenant_id: string;
  pipeline_id: string;
  pipeline_label: string;
  stage_id: string;
  stage_label: string;
  display_order: ColumnType<number, number | undefined, number>;
  is_closed: ColumnType<boolean, boolean | undefined, boolean>;
  /** As the CRM gives it ("0.2", "1.0"); null when the stage has none. */
  probability: string | null;
  /** What the CRM says of a closed stage, when it says (Salesforce IsWon); null for HubSpot. */
  is_won: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
  /** What the CRM's metadata implies; refreshed with every read of the pipelines. */
  derived_category: StageCategory;
  /** The admin's choice; survives re-reads. */
  override_category: StageCategory | null;
  /** The stage no longer exists in the CRM; kept so old events still resolve. */
  archived: ColumnType<boolean, boolean | undefined, boolean>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type CrmStageMappingRow = Selectable<CrmStageMappingTable>;
