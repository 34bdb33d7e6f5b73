import type { ColumnType, Generated, Selectable } from 'kysely';

export type RuleType =
  | 'flat_fee'
  | 'revenue_share'
  | 'volume_tier'
  | 'retainer'
  | 'recurring_share'
  | 'override';
export type RuleStatus = 'draft' | 'active';

export interface FlatFeeConfig {
  /** Minor units of the program's currency. */
  amount: string;
  on: 'deal_won' | 'registration_approved';
}
export interface RevenueShareConfig {
  /** Exact decimal: '0.1' is 10 %. */
  rate: string;
}
export interface VolumeTierConfig {
  period: 'month' | 'quarter' | 'year';
  measure: 'count' | 'revenue';
  mode: 'retroactive' | 'marginal' | 'forward';
  /** Ascending `from` (a count of won deals, or minor units of revenue): reached when volume ≥ from. */
  tiers: { from: string; rate: string }[];
}
export interface RetainerConfig {
  /** Minor units: the monthly retainer (accrued by the scheduler) and the fee on close. */
  monthlyAmount: string;
  successFee: string;
}
export interface RecurringShareConfig {
  rate: string;
  months?: number | null;
}
export interface OverrideConfig {
  /** 'commission': a share of the sub-partner's rounded line; 'deal': a share of the deal amount. */
  basis: 'commission' | 'deal';
  /** Rate per level: levels[0] for the parent, levels[1] for the grandparent, … (depth = length). */
  levels: string[];
}
export type RuleConfig =
  | FlatFeeConfig
  | RevenueShareConfig
  | VolumeTierConfig
  | RetainerConfig
  | RecurringShareConfig
  | OverrideConfig;

/** What narrows a rule; every condition given must hold. */
export interface RuleConditions {
  partnerKinds?: string[];
  tierIds?: string[];
  pipelines?: string[];
  /** Minor units of the deal's currency, inclusive. */
  minAmount?: string;
  maxAmount?: string;
  property?: { name: string; values: string[] };
}

export interface CommissionPlanTable {
  id: Generated<string>;
  tenant_id: string;
  program_id: string;
  name: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** One version of a rule: in force from effective_from (inclusive) to effective_to (exclusive). */
export interface CommissionRuleTable {
  id: Generated<string>;
  tenant_id: string;
  plan_id: string;
  rule_key: string;
  version: number;
  effective_from: Date;
  effective_to: Date | null;
  status: RuleStatus;
  type: RuleType;
  config: ColumnType<RuleConfig, string, string>;
  conditions: ColumnType<RuleConditions, string | undefined, string>;
  position: ColumnType<number, number | undefined, number>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface FxRateTable {
  id: Generated<string>;
  tenant_id: string;
  from_currency: string;
  to_currency: string;
  rate: string;
  /** 'YYYY-MM-DD', in the tenant's time zone. */
  effective_on: ColumnType<string, string, string>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface DealRevenueTable {
  id: Generated<string>;
  tenant_id: string;
  deal_id: string;
  revenue_id: string;
  amount: bigint;
  currency: string;
  month: string;
  occurred_at: Date;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type CommissionPlanRow = Selectable<CommissionPlanTable>;
export type CommissionRuleRow = Selectable<CommissionRuleTable>;
export type FxRateRow = Selectable<FxRateTable>;
export type DealRevenueRow = Selectable<DealRevenueTable>;
