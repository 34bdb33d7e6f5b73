import type { AccrualLine } from './commission-lines.ts';
import type {
  CommissionRuleRow,
  FlatFeeConfig,
  OverrideConfig,
  RetainerConfig,
  RevenueShareConfig,
  RuleConditions,
  VolumeTierConfig,
} from './commission-plan.table.ts';
import {
  applyRate,
  mul,
  parseDecimal,
  type Ratio,
  ratio,
  roundHalfEven,
  splitLargestRemainder,
} from './money-math.ts';

/*
 * The rules as pure functions: a deal's state, its attributions and the partners' facts in, the
 * lines it owes out. The delta engine (settle-deal.ts) posts the difference with what the ledger
 * holds; the plan preview runs the same code in memory. Keys name the cause without the deal
 * version: `deal:<id>:rule:<rule key>:partner:<p>[:tier-adjustment][:override:<depth>]`.
 */

export interface DealFacts {
  id: string;
  programId: string;
  amount: bigint | null;
  currency: string | null;
  pipeline: string | null;
  properties: Record<string, string | null>;
  /** Only a won deal (not deleted nor merged away) owes anything. */
  wonAt: Date | null;
}

export interface PartnerFacts {
  id: string;
  kind: string;
  tierId: string | null;
  /** Parent first, as the hierarchy stands now (a posted line keeps the chain it recorded). */
  ancestors: string[];
}

export interface AttributionFacts {
  partnerId: string;
  role: string;
  splitWeight: string;
  position: number;
}

export interface ProgramFacts {
  id: string;
  currency: string;
}

/** An owed line: what accrueLines takes, with its version-free key. */
export interface OwedLine extends AccrualLine {
  key: string;
  /** For an override: the key of the line it is a share of. */
  sourceKey?: string;
}

export interface EngineContext {
  program: ProgramFacts;
  partners: Map<string, PartnerFacts>;
  /** The exchange rate deal currency → program currency for a key, or null when none is known. */
  fxRate(key: string, from: string, to: string): string | null;
  /** For a key already posted: the ancestor chain recorded then (a reparent changes nothing). */
  recordedAncestors(key: string): string[] | undefined;
  problems: string[];
}

/** The version of each rule in force at `at` (drafts only when asked, for a preview). */
export function rulesInForce(
  rules: CommissionRuleRow[],
  at: Date,
  includeDrafts = false,
): CommissionRuleRow[] {
  const best = new Map<string, CommissionRuleRow>();
  for (const rule of rules) {
    if (rule.status !== 'active' && !includeDrafts) continue;
    if (rule.effective_from.getTime() > at.getTime()) continue;
    if (rule.effective_to && rule.effective_to.getTime() <= at.getTime()) continue;
    const current = best.get(rule.rule_key);
    if (!current || rule.version > current.version) best.set(rule.rule_key, rule);
  }
  return [...best.values()].sort((a, b) => a.position - b.position || a.rule_key.localeCompare(b.rule_key));
}

export function dealPasses(conditions: RuleConditions, deal: DealFacts): boolean {
  if (conditions.pipelines?.length && !conditions.pipelines.includes(deal.pipeline ?? '')) return false;
  const amount = deal.amount ?? 0n;
  if (conditions.minAmount !== undefined && amount < BigInt(conditions.minAmount)) return false;
  if (conditions.maxAmount !== undefined && amount > BigInt(conditions.maxAmount)) return false;
  if (conditions.property) {
    const value = deal.properties[conditions.property.name];
    if (value == null || !conditions.property.values.includes(value)) return false;
  }
  return true;
}

export function partnerPasses(conditions: RuleConditions, partner: PartnerFacts | undefined): boolean {
  if (!partner) return false;
  if (conditions.partnerKinds?.length && !conditions.partnerKinds.includes(partner.kind)) return false;
  if (conditions.tierIds?.length && !conditions.tierIds.includes(partner.tierId ?? '')) return false;
  return true;
}

/** The attributed partners a rule credits, in listing order. */
export function creditedPartners(
  rule: CommissionRuleRow,
  attributions: AttributionFacts[],
  ctx: EngineContext,
) {
  return [...attributions]
    .sort((a, b) => a.position - b.position)
    .filter((a) => partnerPasses(rule.conditions, ctx.partners.get(a.partnerId)));
}

/** The deal amount in the program's currency (a rate of 1, converted and rounded once), or null. */
export function convertedAmount(deal: DealFacts, key: string, ctx: EngineContext) {
  if (deal.amount == null || !deal.currency) return null;
  const fx = fxFor(deal, key, ctx);
  if (fx === undefined) return null;
  return { amount: applyRate(deal.amount, '1', fxOptions(deal, fx, ctx)), fx };
}

function fxFor(deal: DealFacts, key: string, ctx: EngineContext): string | null | undefined {
  if (!deal.currency || deal.currency === ctx.program.currency) return null;
  const fx = ctx.fxRate(key, deal.currency, ctx.program.currency);
  if (fx === null) {
    ctx.problems.push(`no exchange rate ${deal.currency} → ${ctx.program.currency}`);
    return undefined;
  }
  return fx;
}

function fxOptions(deal: DealFacts, fx: string | null, ctx: EngineContext) {
  return fx ? { fxRate: fx, from: deal.currency ?? undefined, to: ctx.program.currency } : {};
}

const baseKey = (dealId: string, ruleKey: string, partnerId: string) =>
  `deal:${dealId}:rule:${ruleKey}:partner:${partnerId}`;

/**
 * The lines a won deal owes under the non-tier rules (flat fee, revenue share, retainer success fee),
 * each whole rounded once and split over the credited partners by largest remainder.
 */
export function dealLines(
  deal: DealFacts,
  rules: CommissionRuleRow[],
  attributions: AttributionFacts[],
  ctx: EngineContext,
): OwedLine[] {
  if (!deal.wonAt) return [];
  const lines: OwedLine[] = [];
  for (const rule of rules) {
    if (!dealPasses(rule.conditions, deal)) continue;
    const credited = creditedPartners(rule, attributions, ctx);
    if (credited.length === 0) continue;
    const probe = baseKey(deal.id, rule.rule_key, credited[0]!.partnerId);
    let whole: bigint;
    let rate: string | null = null;
    let basis: bigint | null = null;
    let fx: string | null = null;
    if (rule.type === 'revenue_share') {
      if (deal.amount == null || !deal.currency) continue;
      const found = fxFor(deal, probe, ctx);
      if (found === undefined) continue;
      fx = found;
      rate = (rule.config as RevenueShareConfig).rate;
      basis = deal.amount;
      whole = applyRate(deal.amount, rate, fxOptions(deal, fx, ctx));
    } else if (rule.type === 'flat_fee') {
      const config = rule.config as FlatFeeConfig;
      if (config.on !== 'deal_won') continue;
      whole = BigInt(config.amount);
    } else if (rule.type === 'retainer') {
      whole = BigInt((rule.config as RetainerConfig).successFee);
    } else continue;
    const parts = splitLargestRemainder(
      whole,
      credited.map((c) => c.splitWeight),
    );
    credited.forEach((c, i) => {
      const key = baseKey(deal.id, rule.rule_key, c.partnerId);
      lines.push({
        key,
        causeKey: key,
        programId: deal.programId,
        partnerId: c.partnerId,
        dealId: deal.id,
        ruleId: rule.id,
        ruleVersion: rule.version,
        kind: 'commission',
        amount: parts[i]!,
        currency: ctx.program.currency,
        basisAmount: basis,
        basisCurrency: basis === null ? null : deal.currency,
        rate,
        fxRate: fx,
        explanation: {
          rule: rule.rule_key,
          type: rule.type,
          whole: whole.toString(),
          splitWeight: c.splitWeight,
          splitOf: credited.map((x) => x.partnerId),
          splitWeights: credited.map((x) => x.splitWeight),
          role: c.role,
        },
      });
    });
  }
  return lines;
}

/** A deal of a tier group: the partner's part of it, in time order. */
export interface TierDeal {
  deal: DealFacts;
  /** The partner's part of the deal amount in the program's currency (its basis). */
  basis: bigint;
  fx: string | null;
}

function rateAt(tiers: VolumeTierConfig['tiers'], volume: bigint): string {
  let rate = '0';
  for (const tier of tiers) if (volume >= BigInt(tier.from)) rate = tier.rate;
  return rate;
}

/** Σ over bands of (the part of [from, to) inside the band) × band rate, exactly. */
function marginalAmount(tiers: VolumeTierConfig['tiers'], from: bigint, to: bigint): Ratio {
  let total: Ratio = ratio(0n);
  tiers.forEach((tier, i) => {
    const lo = BigInt(tier.from);
    const hi = i + 1 < tiers.length ? BigInt(tiers[i + 1]!.from) : to;
    const start = from > lo ? from : lo;
    const end = to < hi ? to : hi;
    if (end > start) {
      const part = mul(ratio(end - start), parseDecimal(tier.rate));
      total = ratio(total.n * part.d + part.n * total.d, total.d * part.d);
    }
  });
  return total;
}

/**
 * The lines one partner's won deals of one period owe under a volume tier rule. Deals count in the
 * order they were won. retroactive: each deal its line at the rate reached with it, plus a
 * tier_adjustment up to the rate the period reached; marginal (revenue): each slice of volume at its
 * band's rate; forward: each deal at the rate reached with it.
 */
export function tierLines(
  rule: CommissionRuleRow,
  partnerId: string,
  periodKey: string,
  deals: TierDeal[],
  ctx: EngineContext,
): OwedLine[] {
  const config = rule.config as VolumeTierConfig;
  const tiers = [...config.tiers].sort((a, b) => (BigInt(a.from) < BigInt(b.from) ? -1 : 1));
  const ordered = [...deals].sort(
    (a, b) => a.deal.wonAt!.getTime() - b.deal.wonAt!.getTime() || a.deal.id.localeCompare(b.deal.id),
  );
  const volumeOf = (d: TierDeal) => (config.measure === 'count' ? 1n : d.basis);
  const finalVolume = ordered.reduce((sum, d) => sum + volumeOf(d), 0n);
  const finalRate = rateAt(tiers, finalVolume);
  const lines: OwedLine[] = [];
  let volume = 0n;
  for (const d of ordered) {
    const before = volume;
    volume += volumeOf(d);
    const key = baseKey(d.deal.id, rule.rule_key, partnerId);
    let amount: bigint;
    let rate: string;
    if (config.mode === 'marginal' && config.measure === 'revenue') {
      amount = roundHalfEven(marginalAmount(tiers, before, volume));
      rate = 'marginal';
    } else {
      rate = rateAt(tiers, volume);
      amount = roundHalfEven(mul(ratio(d.basis), parseDecimal(rate)));
    }
    const common = {
      programId: d.deal.programId,
      partnerId,
      dealId: d.deal.id,
      ruleId: rule.id,
      ruleVersion: rule.version,
      currency: ctx.program.currency,
      basisAmount: d.basis,
      basisCurrency: ctx.program.currency,
      fxRate: d.fx,
      periodKey,
    };
    lines.push({
      ...common,
      key,
      causeKey: key,
      kind: 'commission',
      amount,
      rate,
      explanation: {
        rule: rule.rule_key,
        type: 'volume_tier',
        mode: config.mode,
        measure: config.measure,
        volumeBefore: before.toString(),
        volumeAfter: volume.toString(),
      },
    });
    if (config.mode === 'retroactive') {
      const owedAtFinal = roundHalfEven(mul(ratio(d.basis), parseDecimal(finalRate)));
      lines.push({
        ...common,
        key: `${key}:tier-adjustment`,
        causeKey: `${key}:tier-adjustment`,
        kind: 'tier_adjustment',
        amount: owedAtFinal - amount,
        rate: finalRate,
        explanation: {
          rule: rule.rule_key,
          type: 'volume_tier',
          mode: 'retroactive',
          periodVolume: finalVolume.toString(),
          reachedRate: finalRate,
          ownRate: rate,
        },
      });
    }
  }
  return lines.filter((l) => l.amount !== 0n);
}

/**
 * Override legs for lines: each ancestor up to the rule's depth earns its level's rate of the
 * child's rounded line (or of the deal), rounded once. The chain is the one recorded when the child
 * line was first posted, so a reparent later changes nothing already posted.
 */
export function overrideLines(
  rule: CommissionRuleRow,
  children: OwedLine[],
  deals: Map<string, DealFacts>,
  ctx: EngineContext,
): OwedLine[] {
  const config = rule.config as OverrideConfig;
  const lines: OwedLine[] = [];
  for (const child of children) {
    if (child.kind === 'override') continue;
    const chain = ctx.recordedAncestors(child.key) ?? ctx.partners.get(child.partnerId)?.ancestors ?? [];
    child.explanation = { ...child.explanation, ancestors: chain };
    const deal = child.dealId ? deals.get(child.dealId) : undefined;
    if (deal && !dealPasses(rule.conditions, deal)) continue;
    config.levels.forEach((rate, i) => {
      const ancestor = chain[i];
      if (!ancestor) return;
      let basis: bigint;
      let fx: string | null = null;
      if (config.basis === 'deal') {
        if (!deal || child.kind !== 'commission') return;
        const converted = convertedAmount(deal, child.key, ctx);
        if (!converted) return;
        // A deal-based override shares the child's part of the deal, not the whole deal per child.
        const of = (child.explanation.splitOf as string[] | undefined) ?? [child.partnerId];
        const weights = (child.explanation.splitWeights as string[] | undefined) ?? of.map(() => '1');
        const parts = splitLargestRemainder(converted.amount, weights);
        basis = parts[Math.max(0, of.indexOf(child.partnerId))]!;
        fx = converted.fx;
      } else basis = child.amount;
      const key = `${child.key}:override:${i + 1}`;
      lines.push({
        key,
        causeKey: key,
        sourceKey: child.key,
        programId: child.programId,
        partnerId: ancestor,
        dealId: child.dealId ?? null,
        ruleId: rule.id,
        ruleVersion: rule.version,
        kind: 'override',
        overrideDepth: i + 1,
        amount: applyRate(basis, rate),
        currency: child.currency,
        basisAmount: basis,
        basisCurrency: child.currency,
        rate,
        fxRate: fx ?? child.fxRate ?? null,
        periodKey: child.periodKey ?? null,
        explanation: {
          rule: rule.rule_key,
          type: 'override',
          basis: config.basis,
          of: child.key,
          child: child.partnerId,
          depth: i + 1,
          ancestors: chain,
        },
      });
    });
  }
  return lines.filter((l) => l.amount !== 0n);
}

/** The calendar period of an instant's local date ('2026-03', '2026-Q1', '2026'). */
export function periodKeyOf(localDay: string, period: VolumeTierConfig['period']): string {
  const year = localDay.slice(0, 4);
  const month = Number(localDay.slice(5, 7));
  if (period === 'year') return year;
  if (period === 'quarter') return `${year}-Q${Math.ceil(month / 3)}`;
  return localDay.slice(0, 7);
}

/** The first local day of a period key and the first local day after it. */
export function periodBounds(key: string): { start: string; end: string } {
  const year = Number(key.slice(0, 4));
  const pad = (y: number, m: number) => `${y}-${String(m).padStart(2, '0')}-01`;
  if (key.length === 4) return { start: pad(year, 1), end: pad(year + 1, 1) };
  if (key[5] === 'Q') {
    const q = Number(key.slice(6));
    const m = (q - 1) * 3 + 1;
    return { start: pad(year, m), end: m + 3 > 12 ? pad(year + 1, 1) : pad(year, m + 3) };
  }
  const m = Number(key.slice(5, 7));
  return { start: pad(year, m), end: m === 12 ? pad(year + 1, 1) : pad(year, m + 1) };
}
