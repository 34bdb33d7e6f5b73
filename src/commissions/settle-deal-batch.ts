import type { Tx } from '../db/database.ts';
import type { DealRow } from '../deals/deal.table.ts';
import type { Services } from '../services.ts';
import { accrueLineBatch } from './accrue-line-batch.ts';
import {
  dealFacts,
  liveLines,
  loadAttributions,
  loadPartners,
  type ProgramPlan,
} from './commission-context.ts';
import type { CommissionLineRow } from './commission-line.table.ts';
import type { AccrueInput } from './commission-lines.ts';
import type { OwedLine } from './rule-engine.ts';
import { exchangeRates, planSettlement, reverse, type SettleCause } from './settle-deal.ts';

export interface BatchSettleItem {
  /** Locked FOR UPDATE by the caller, in the program `plans` holds. */
  deal: DealRow;
  cause: SettleCause;
}

export interface BatchSettleResult {
  /** Ids of the lines this settle wrote: clawbacks, then accruals. */
  lineIds: string[];
  owed: OwedLine[];
  problems: string[];
  partnerIds: string[];
}

/** True when a program's deals settle independently of each other: no volume tier in its plan. */
export function settlesAlone(plan: ProgramPlan): boolean {
  return plan.rules.every((rule) => rule.type !== 'volume_tier');
}

/**
 * settleDeal for many deals of one tenant at once, with the same delta, keys and ledger content as
 * settling them one after another, and a fixed number of statements for the usual case (won deals
 * with nothing held yet): their live lines, attributions and partners read once each, every
 * accrual posted by accrueLineBatch. Reversals (rarer) are posted deal by deal, before the accruals.
 *
 * Only for deals whose programs `settlesAlone`: without volume tiers a deal's delta depends on its
 * own lines only, so the order of the deals does not matter. Each deal appears once.
 */
export async function settleDealBatch(
  tx: Tx,
  services: Services,
  plans: ReadonlyMap<string, ProgramPlan>,
  items: BatchSettleItem[],
  options: {
    /**
     * Called with what each deal owes once it is computed and before anything is posted: the place
     * for the caller's own writes (announcements), so they are not made under the account locks.
     */
    beforePosting?: (owed: Omit<BatchSettleResult, 'lineIds'>[]) => Promise<void>;
  } = {},
): Promise<BatchSettleResult[]> {
  if (items.length === 0) return [];
  const tenantId = items[0]!.deal.tenant_id;
  const planOf = (deal: DealRow) => {
    const plan = deal.program_id ? plans.get(deal.program_id) : undefined;
    if (!plan || !settlesAlone(plan) || deal.tenant_id !== tenantId)
      throw new Error(`deal ${deal.id} cannot be settled in a batch`);
    return plan;
  };
  for (const item of items) planOf(item.deal);
  const held = await liveLines(
    tx,
    tenantId,
    items.filter((item) => BigInt(item.deal.version) > 1n).map((item) => item.deal.id),
  );
  const liveOf = new Map<string, CommissionLineRow[]>();
  for (const line of held) {
    const lines = liveOf.get(line.deal_id!) ?? [];
    lines.push(line);
    liveOf.set(line.deal_id!, lines);
  }
  const attributions = await loadAttributions(
    tx,
    tenantId,
    items.map((item) => item.deal.id),
  );
  const partners = await loadPartners(
    tx,
    tenantId,
    [...attributions.values()].flat().map((a) => a.partnerId),
  );

  const now = services.clock.now();
  const planned = [];
  for (const { deal, cause } of items) {
    const { setup, rules } = planOf(deal);
    const credits = attributions.get(deal.id) ?? [];
    const facts = dealFacts(deal);
    const problems: string[] = [];
    const plan = planSettlement(
      deal,
      cause,
      {
        setup,
        rules,
        attributions: credits,
        partners,
        groups: [],
        groupMembers: new Map(),
        allAttributions: new Map([[deal.id, credits]]),
        live: liveOf.get(deal.id) ?? [],
        dealsById: new Map([[deal.id, facts]]),
        fxByDeal: await exchangeRates(tx, tenantId, setup, [facts]),
      },
      problems,
      now,
    );
    planned.push({ deal, cause, plan, problems, partnerIds: credits.map((a) => a.partnerId) });
  }

  await options.beforePosting?.(
    planned.map(({ plan, problems, partnerIds }) => ({ owed: plan.owed, problems, partnerIds })),
  );
  const reversedIds = new Map<string, string[]>();
  for (const { deal, cause, plan } of planned) {
    if (plan.reverseIds.length === 0) continue;
    const reversed = await reverse(tx, deal, cause, plan.reverseIds, services);
    reversedIds.set(
      deal.id,
      reversed.map((line) => line.id),
    );
  }
  const accruals = planned.flatMap((p) => (p.plan.accrual ? [p.plan.accrual] : []));
  const accruedIds = await accrueLineBatch(tx, tenantId, accruals);
  const accruedOf = new Map<AccrueInput, string[]>(accruals.map((a, i) => [a, accruedIds[i]!]));
  return planned.map(({ deal, plan, problems, partnerIds }) => ({
    lineIds: [
      ...(reversedIds.get(deal.id) ?? []),
      ...(plan.accrual ? (accruedOf.get(plan.accrual) ?? []) : []),
    ],
    owed: plan.owed,
    problems,
    partnerIds,
  }));
}
