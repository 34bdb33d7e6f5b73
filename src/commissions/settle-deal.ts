import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import type { DealRow } from '../deals/deal.table.ts';
import type { Services } from '../services.ts';
import {
  dealFacts,
  fxRateOn,
  liveLines,
  loadAttributions,
  loadPartners,
  loadSettleInputs,
  localDate,
  type ProgramSetup,
  type SettleInputs,
  wonDealsInPeriod,
} from './commission-context.ts';
import type { CommissionLineRow } from './commission-line.table.ts';
import { type AccrueInput, accrueLines, reverseLines } from './commission-lines.ts';
import type { CommissionRuleRow, VolumeTierConfig } from './commission-plan.table.ts';
import { splitLargestRemainder } from './money-math.ts';
import {
  type AttributionFacts,
  convertedAmount,
  creditedPartners,
  type DealFacts,
  dealLines,
  dealPasses,
  type EngineContext,
  type OwedLine,
  overrideLines,
  periodBounds,
  periodKeyOf,
  rulesInForce,
  type TierDeal,
  tierLines,
} from './rule-engine.ts';

/*
 * The delta engine: from a deal's latest state, the lines it owes; against the lines the ledger
 * holds for it, the difference: held lines that differ are reversed exactly (their stored amounts
 * and rates) and the owed ones accrued, under keys carrying the deal version. So duplicates and
 * reordered events change nothing, won → lost → won ends where a single won would, and an amount
 * drop reverses and re-accrues. Volume tiers recompute the partner's whole period, under an
 * advisory lock per (partner, rule, period), so concurrent deals of one period queue.
 */

export interface SettleCause {
  version: bigint;
  /** The domain time of the change (the hold runs from it). */
  occurredAt: Date;
  dealEventId?: string | null;
  reason: string;
}

export interface SettleResult {
  reversed: CommissionLineRow[];
  accrued: CommissionLineRow[];
  /** What the deal owes now, after this settle (its own lines). */
  owed: OwedLine[];
  problems: string[];
  /** The deal's credited partners, in listing order. */
  partnerIds: string[];
}

/** `deal:<id>:v<n>:rule:…` or `…:via:deal:<other>:v<n>` → the version-free key. */
export function baseKeyOf(causeKey: string): string {
  return causeKey.replace(/^deal:([^:]+):v\d+:/, 'deal:$1:').replace(/:via:deal:.*$/, '');
}

function stamp(key: string, dealId: string, version: bigint): string {
  const own = `deal:${dealId}:`;
  return key.startsWith(own)
    ? `deal:${dealId}:v${version}:${key.slice(own.length)}`
    : `${key}:via:deal:${dealId}:v${version}`;
}

const groupOfKey = (key: string) => /:rule:([^:]+):partner:([^:]+)/.exec(key);

export interface TierGroup {
  ruleKey: string;
  partnerId: string;
  periodKey: string;
}

export async function settleDeal(
  tx: Tx,
  services: Services,
  deal: DealRow,
  cause: SettleCause,
): Promise<SettleResult> {
  const result: SettleResult = { reversed: [], accrued: [], owed: [], problems: [], partnerIds: [] };
  const tenantId = deal.tenant_id;
  // Lines exist only from a settle at version ≥ 1 of this deal (or of a deal of its tier group,
  // which sees this deal won only after its own first settle committed): version 1 has none.
  const ownLive = BigInt(deal.version) <= 1n ? [] : await liveLines(tx, tenantId, [deal.id]);
  const loaded = deal.program_id ? await loadSettleInputs(tx, tenantId, deal.program_id, deal.id) : null;
  if (!loaded) {
    if (ownLive.length > 0) result.reversed = await reverse(tx, deal, cause, ownLive);
    return result;
  }
  const reads = await readTierGroups(tx, deal, ownLive, loaded, result.problems);
  const plan = planSettlement(deal, cause, reads, result.problems, services.clock.now());
  result.partnerIds = loaded.attributions.map((a) => a.partnerId);
  result.owed = plan.owed;
  if (plan.reverseIds.length > 0) result.reversed = await reverse(tx, deal, cause, plan.reverseIds, services);
  if (plan.accrual) result.accrued = (await accrueLines(tx, plan.accrual)).lines;
  return result;
}

/** Everything planSettlement reads: the deal's inputs and, for volume tiers, its groups' deals. */
export interface SettleReads extends SettleInputs {
  /** Tier groups recomputed with this deal, by `rule|partner|period`, sorted (the lock order). */
  groups: [string, TierGroup][];
  groupMembers: Map<string, DealRow[]>;
  allAttributions: Map<string, AttributionFacts[]>;
  /** Live lines of the deal and of the groups' other deals. */
  live: CommissionLineRow[];
  /** The deal's and the groups' other deals' facts. */
  dealsById: Map<string, DealFacts>;
  /** deal currency → program currency on each won deal's local won day. */
  fxByDeal: Map<string, string | null>;
}

/** What settling a deal writes: lines to reverse exactly, and the accrual of what is owed anew. */
export interface SettlementPlan {
  reverseIds: string[];
  accrual: AccrueInput | null;
  /** What the deal owes now (its own lines). */
  owed: OwedLine[];
}

/**
 * The tier groups this deal is or was part of, locked (sorted), with what they hold: their won
 * deals, those deals' attributions, partners and live lines, and the exchange rates.
 */
async function readTierGroups(
  tx: Tx,
  deal: DealRow,
  ownLive: CommissionLineRow[],
  loaded: SettleInputs,
  problems: string[],
): Promise<SettleReads> {
  const tenantId = deal.tenant_id;
  const { setup, rules, attributions, partners } = loaded;
  const facts = dealFacts(deal);
  const tierKeys = new Set(rules.filter((r) => r.type === 'volume_tier').map((r) => r.rule_key));
  const groups = new Map<string, TierGroup>();
  const addGroup = (g: TierGroup) => groups.set(`${g.ruleKey}|${g.partnerId}|${g.periodKey}`, g);
  if (facts.wonAt && tierKeys.size > 0) {
    const day = localDate(facts.wonAt, setup.timeZone);
    const probe = {
      program: { id: setup.id, currency: setup.currency },
      partners,
      problems,
      fxRate: () => null,
      recordedAncestors: () => undefined,
    } as EngineContext;
    for (const rule of rulesInForce(rules, facts.wonAt)) {
      if (rule.type !== 'volume_tier' || !dealPasses(rule.conditions, facts)) continue;
      const period = periodKeyOf(day, (rule.config as VolumeTierConfig).period);
      for (const c of creditedPartners(rule, attributions, probe))
        addGroup({ ruleKey: rule.rule_key, partnerId: c.partnerId, periodKey: period });
    }
  }
  for (const line of ownLive) {
    const match = groupOfKey(baseKeyOf(line.cause_key));
    if (match && tierKeys.has(match[1]!) && line.period_key && line.kind !== 'override')
      addGroup({ ruleKey: match[1]!, partnerId: match[2]!, periodKey: line.period_key });
  }
  const sortedGroups = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  for (const [name] of sortedGroups) {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`tier:${tenantId}:${name}`}, 0))`.execute(tx);
  }

  const groupDeals = new Map<string, DealRow>();
  const groupMembers = new Map<string, DealRow[]>();
  for (const [name, g] of sortedGroups) {
    const rows = await wonDealsInPeriod(
      tx,
      tenantId,
      setup.id,
      g.partnerId,
      periodBounds(g.periodKey),
      setup.timeZone,
    );
    const members = rows.map((r) => (r.id === deal.id ? deal : r));
    groupMembers.set(name, members);
    for (const r of members) if (r.id !== deal.id) groupDeals.set(r.id, r);
  }
  const otherIds = [...groupDeals.keys()];
  const otherAttributions = await loadAttributions(tx, tenantId, otherIds);
  const allAttributions = new Map(otherAttributions).set(deal.id, attributions);
  const missing = [...otherAttributions.values()].flat().filter((a) => !partners.has(a.partnerId));
  if (missing.length > 0)
    for (const [id, p] of await loadPartners(
      tx,
      tenantId,
      missing.map((a) => a.partnerId),
    ))
      partners.set(id, p);

  const live = sortedGroups.length > 0 ? await liveLines(tx, tenantId, [deal.id, ...otherIds]) : ownLive;
  const dealsById = new Map<string, DealFacts>([[deal.id, facts]]);
  for (const r of groupDeals.values()) dealsById.set(r.id, dealFacts(r));
  const fxByDeal = await exchangeRates(tx, tenantId, setup, [...dealsById.values()]);
  return { ...loaded, groups: sortedGroups, groupMembers, allAttributions, live, dealsById, fxByDeal };
}

/**
 * The delta of one deal, computed from what was read and nothing else: what its latest state owes
 * (its own lines, its tier groups' lines, overrides of them all) against the live lines in scope.
 * Problems found on the way are pushed onto `problems`.
 */
export function planSettlement(
  deal: DealRow,
  cause: SettleCause,
  reads: SettleReads,
  problems: string[],
  recordedAt: Date,
): SettlementPlan {
  const tenantId = deal.tenant_id;
  const { setup, rules, attributions, partners, live, dealsById, fxByDeal } = reads;
  const facts = dealsById.get(deal.id)!;
  const groups = new Map(reads.groups);
  const recorded = new Map(live.map((l) => [baseKeyOf(l.cause_key), l]));
  const ctx: EngineContext = {
    program: { id: setup.id, currency: setup.currency },
    partners,
    problems,
    fxRate(key, from) {
      const line = recorded.get(key);
      const dealId = key.split(':')[1] ?? '';
      const d = dealsById.get(dealId);
      if (line?.fx_rate && line.basis_currency === from && d && line.basis_amount === d.amount)
        return line.fx_rate;
      return fxByDeal.get(dealId) ?? null;
    },
    recordedAncestors(key) {
      const ancestors = recorded.get(key)?.explanation?.ancestors;
      return Array.isArray(ancestors) ? (ancestors as string[]) : undefined;
    },
  };

  // What is owed: the deal's own lines, then every tier group's lines, then overrides of them all.
  const children: OwedLine[] = [];
  if (facts.wonAt) {
    const inForce = rulesInForce(rules, facts.wonAt).filter((r) => r.type !== 'volume_tier');
    children.push(...dealLines(facts, inForce, attributions, ctx));
  }
  for (const [name, g] of reads.groups) {
    children.push(...groupLines(rules, g, reads.groupMembers.get(name) ?? [], reads.allAttributions, ctx));
  }
  const unique = new Map<string, OwedLine>();
  for (const line of children) unique.set(line.key, line);
  const owed = [...unique.values()];
  for (const d of dealsById.values()) {
    if (!d.wonAt) continue;
    const overrideRules = rulesInForce(rules, d.wonAt).filter((r) => r.type === 'override');
    const mine = owed.filter((l) => l.dealId === d.id && l.kind !== 'override');
    for (const rule of overrideRules) owed.push(...overrideLines(rule, mine, dealsById, ctx));
  }

  // In scope: the deal's own lines and, of other deals, only the tier groups recomputed here.
  const inGroups = (key: string, periodKey: string | null) => {
    const match = groupOfKey(key);
    return Boolean(match && periodKey && groups.has(`${match[1]}|${match[2]}|${periodKey}`));
  };
  const scopedLive = live.filter(
    (l) => l.deal_id === deal.id || inGroups(baseKeyOf(l.cause_key), l.period_key),
  );
  const scopedOwed = owed.filter((l) => l.dealId === deal.id || inGroups(l.key, l.periodKey ?? null));

  const liveByKey = new Map(scopedLive.map((l) => [baseKeyOf(l.cause_key), l]));
  const reverseIds = new Set<string>();
  const reKeyed = new Set<string>();
  const accrue: OwedLine[] = [];
  const causeOf = new Map<string, string>();
  const matched = new Set<string>();
  for (const line of scopedOwed) {
    matched.add(line.key);
    const held = liveByKey.get(line.key);
    const sourceMoved = line.sourceKey !== undefined && reKeyed.has(line.sourceKey);
    if (held && !sourceMoved && sameLine(held, line)) {
      causeOf.set(line.key, held.cause_key);
      continue;
    }
    if (held) reverseIds.add(held.id);
    reKeyed.add(line.key);
    accrue.push(line);
  }
  for (const l of scopedLive) if (!matched.has(baseKeyOf(l.cause_key))) reverseIds.add(l.id);
  // An override whose source is reversed goes with it, whatever its amount.
  for (const l of scopedLive)
    if (l.source_line_id && reverseIds.has(l.source_line_id) && !reverseIds.has(l.id)) {
      reverseIds.add(l.id);
      const key = baseKeyOf(l.cause_key);
      const again = scopedOwed.find((o) => o.key === key);
      if (again && !accrue.includes(again)) accrue.push(again);
    }

  for (const line of accrue) causeOf.set(line.key, stamp(line.key, deal.id, cause.version));
  const accrual: AccrueInput | null =
    accrue.length === 0
      ? null
      : {
          tenantId,
          transactionKey: `deal:${deal.id}:v${cause.version}:accrue`,
          cause: { deal: deal.id, version: cause.version.toString(), reason: cause.reason },
          occurredAt: cause.occurredAt,
          holdDays: setup.holdDays,
          recordedAt,
          lines: accrue.map((line) => ({
            ...line,
            causeKey: causeOf.get(line.key)!,
            sourceCauseKey: line.sourceKey ? (causeOf.get(line.sourceKey) ?? null) : null,
            dealEventId: line.dealId === deal.id ? (cause.dealEventId ?? null) : null,
          })),
        };
  return { reverseIds: [...reverseIds], accrual, owed: owed.filter((l) => l.dealId === deal.id) };
}

function sameLine(held: CommissionLineRow, owed: OwedLine): boolean {
  return (
    held.partner_id === owed.partnerId &&
    held.program_id === owed.programId &&
    held.kind === owed.kind &&
    BigInt(held.amount) === owed.amount &&
    held.currency === owed.currency &&
    held.rule_id === (owed.ruleId ?? null) &&
    (held.rate ?? null) === (owed.rate ?? null) &&
    (held.fx_rate ?? null) === (owed.fxRate ?? null)
  );
}

/** Reverses lines of the deal exactly, under the key of this version's reversal. */
export async function reverse(
  tx: Tx,
  deal: DealRow,
  cause: SettleCause,
  lines: CommissionLineRow[] | string[],
  services?: Services,
): Promise<CommissionLineRow[]> {
  const reversed = await reverseLines(tx, {
    tenantId: deal.tenant_id,
    lineIds: lines.map((l) => (typeof l === 'string' ? l : l.id)),
    transactionKey: `deal:${deal.id}:v${cause.version}:reverse`,
    reason: cause.reason,
    occurredAt: cause.occurredAt,
    dealEventId: cause.dealEventId ?? null,
    ...(services ? { recordedAt: services.clock.now() } : {}),
  });
  return reversed.lines;
}

/** One partner's period under a tier rule: each member deal's basis is the partner's part of it. */
export function groupLines(
  rules: CommissionRuleRow[],
  group: TierGroup,
  members: DealRow[],
  attributions: Map<string, AttributionFacts[]>,
  ctx: EngineContext,
): OwedLine[] {
  const tierDeals: TierDeal[] = [];
  // The tiers are the version in force when the period's latest deal was won.
  let last: { rule: CommissionRuleRow; at: number } | undefined;
  for (const row of members) {
    const d = dealFacts(row);
    if (!d.wonAt) continue;
    const rule = rulesInForce(rules, d.wonAt).find((r) => r.rule_key === group.ruleKey);
    if (!rule || !dealPasses(rule.conditions, d)) continue;
    const credited = creditedPartners(rule, attributions.get(d.id) ?? [], ctx);
    const index = credited.findIndex((c) => c.partnerId === group.partnerId);
    if (index < 0) continue;
    const key = `deal:${d.id}:rule:${rule.rule_key}:partner:${group.partnerId}`;
    const converted = convertedAmount(d, key, ctx);
    if (!converted) continue;
    const parts = splitLargestRemainder(
      converted.amount,
      credited.map((c) => c.splitWeight),
    );
    tierDeals.push({ deal: d, basis: parts[index]!, fx: converted.fx });
    if (!last || d.wonAt.getTime() >= last.at) last = { rule, at: d.wonAt.getTime() };
  }
  if (!last || tierDeals.length === 0) return [];
  return tierLines(last.rule, group.partnerId, group.periodKey, tierDeals, ctx);
}

/** The rate deal currency → program currency on each won deal's local won day. */
export async function exchangeRates(tx: Tx, tenantId: string, setup: ProgramSetup, deals: DealFacts[]) {
  const rates = new Map<string, string | null>();
  for (const d of deals) {
    if (!d.wonAt || !d.currency || d.currency === setup.currency) continue;
    rates.set(
      d.id,
      await fxRateOn(tx, tenantId, d.currency, setup.currency, localDate(d.wonAt, setup.timeZone)),
    );
  }
  return rates;
}
