import type { CommissionRuleRow, RecurringShareConfig } from './commission-plan.table.ts';
import { applyRate, splitLargestRemainder } from './money-math.ts';
import { addMonths } from './recurring-calendar.ts';
import {
  type AttributionFacts,
  creditedPartners,
  type DealFacts,
  dealPasses,
  type EngineContext,
  type OwedLine,
} from './rule-engine.ts';

/*
 * The recurring share as a pure function: a deal's recorded revenue per month in, the lines each
 * closed month owes out. A rule covers N calendar months starting with the month of the deal's first
 * revenue event (null: the life of the customer); each month owes rate × that month's revenue,
 * rounded once (half-even) and split over the credited partners by largest remainder.
 */

export interface MonthRevenue {
  month: string;
  /** Sum of the month's recorded revenue, in `currency`'s minor units. */
  amount: bigint;
  currency: string;
}

export const recurringCauseKey = (dealId: string, ruleKey: string, month: string, partnerId: string) =>
  `recurring:${dealId}:${ruleKey}:${month}:partner:${partnerId}`;

/** Whether `month` is within the rule's months, counted from the first revenue month. */
export function coversMonth(config: RecurringShareConfig, firstMonth: string, month: string): boolean {
  if (month < firstMonth) return false;
  const months = config.months ?? null;
  return months === null || month <= addMonths(firstMonth, months - 1);
}

/**
 * What one closed month owes under one rule version. `fx` is the rate revenue currency → program
 * currency (null when they are the same); undefined when one is needed but unknown (owes nothing,
 * and the caller reports it).
 */
export function recurringLines(
  deal: DealFacts,
  rule: CommissionRuleRow,
  revenue: MonthRevenue,
  firstMonth: string,
  attributions: AttributionFacts[],
  ctx: EngineContext,
  fx: string | null | undefined,
): OwedLine[] {
  const config = rule.config as RecurringShareConfig;
  if (!coversMonth(config, firstMonth, revenue.month)) return [];
  if (!dealPasses(rule.conditions, deal)) return [];
  if (fx === undefined) return [];
  const credited = creditedPartners(rule, attributions, ctx);
  if (credited.length === 0) return [];
  const options = fx ? { fxRate: fx, from: revenue.currency, to: ctx.program.currency } : {};
  const whole = applyRate(revenue.amount, config.rate, options);
  const parts = splitLargestRemainder(
    whole,
    credited.map((c) => c.splitWeight),
  );
  return credited.map((c, i) => {
    const key = recurringCauseKey(deal.id, rule.rule_key, revenue.month, c.partnerId);
    return {
      key,
      causeKey: key,
      programId: deal.programId,
      partnerId: c.partnerId,
      dealId: deal.id,
      ruleId: rule.id,
      ruleVersion: rule.version,
      kind: 'recurring' as const,
      amount: parts[i]!,
      currency: ctx.program.currency,
      basisAmount: revenue.amount,
      basisCurrency: revenue.currency,
      rate: config.rate,
      fxRate: fx ?? null,
      periodKey: revenue.month,
      explanation: {
        rule: rule.rule_key,
        type: 'recurring_share',
        month: revenue.month,
        firstMonth,
        months: config.months ?? null,
        revenue: revenue.amount.toString(),
        whole: whole.toString(),
        splitWeight: c.splitWeight,
        splitOf: credited.map((x) => x.partnerId),
        role: c.role,
      },
    };
  });
}
