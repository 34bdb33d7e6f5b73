import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export type CommissionLineKind =
  | 'commission'
  | 'override'
  | 'tier_adjustment'
  | 'retainer'
  | 'recurring'
  | 'clawback'
  | 'manual';

/**
 * pending → awaiting_approval (hold period over) → approved (payable) → paid (in a payout);
 * cancelled: a pending or awaiting line that was reversed before approval (it and its reversal).
 */
export type CommissionLineStatus = 'pending' | 'awaiting_approval' | 'approved' | 'paid' | 'cancelled';

/** One ledger leg paid to a partner, with everything that explains it. */
export interface CommissionLineTable {
  id: Generated<string>;
  tenant_id: string;
  program_id: string;
  partner_id: string;
  deal_id: string | null;
  deal_event_id: string | null;
  rule_id: string | null;
  rule_version: number | null;
  kind: CommissionLineKind;
  /** Deterministic, from the cause: the same cause never pays twice. */
  cause_key: string;
  override_depth: number | null;
  /** For an override: the sub-partner's line it is a share of. */
  source_line_id: string | null;
  /** For a clawback: the line it negates. */
  reverses_line_id: string | null;
  /** Signed minor units of `currency` (the program's payout currency). */
  amount: bigint;
  currency: string;
  /** What the rate applied to: the deal amount, the child's commission, the period's revenue. */
  basis_amount: bigint | null;
  basis_currency: string | null;
  /** Exact decimals as text, as applied. */
  rate: string | null;
  fx_rate: string | null;
  /** Calendar period in the tenant's time zone ('2026-03', '2026-Q1', '2026'). */
  period_key: string | null;
  explanation: ColumnType<Record<string, unknown>, string | undefined, never>;
  ledger_transaction_id: string;
  status: CommissionLineStatus;
  accrued_at: Date;
  hold_until: Date;
  approved_at: Date | null;
  approved_by: string | null;
  payout_id: string | null;
  paid_at: Date | null;
  recorded_at: ColumnType<Date, Date | undefined, never>;
}

export type CommissionLineRow = Selectable<CommissionLineTable>;
export type NewCommissionLineRow = Insertable<CommissionLineTable>;
