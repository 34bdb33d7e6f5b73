import type { DbOrTx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { periodEnd, periodStart } from '../http/period-bounds.ts';
import {
  dealFacts,
  fxRateOn,
  loadAttributions,
  loadPartners,
  loadProgramSetup,
  loadRules,
  localDate,
} from './commission-context.ts';
import type { VolumeTierConfig } from './commission-plan.table.ts';
import {
  creditedPartners,
  type DealFacts,
  dealLines,
  dealPasses,
  type EngineContext,
  type OwedLine,
  overrideLines,
  periodKeyOf,
  rulesInForce,
} from './rule-engine.ts';
import { groupLines } from './settle-deal.ts';

export interface PreviewInput {
  tenantId: string;
  programId: string;
  /** The plan to try (a draft's rules count as in force); the program's plan by default. */
  planId?: string | null;
  /** Local calendar days of the tenant, `to` inclusive. */
  from: string;
  to: string;
  /** How the caller names `from` and `to` in an error (`body.from`, `--from`); default as here. */
  fieldNames?: { from: string; to: string };
}

export interface PreviewResult {
  lines: OwedLine[];
  totals: { partnerId: string; currency: string; amount: bigint }[];
  deals: number;
  problems: string[];
}

/**
 * What a plan would have paid for the program's deals won in a past period, computed in memory with
 * the rule code the engine posts with; reads only. Tiers count the deals won within the period asked.
 */
export async function previewPlan(db: DbOrTx, input: PreviewInput): Promise<PreviewResult> {
  const setup = await loadProgramSetup(db, input.tenantId, input.programId);
  if (!setup) throw new AppError('not_found', 'Program not found');
  const planId = input.planId ?? setup.planId;
  if (planId) {
    const plan = await db
      .selectFrom('commission_plans')
      .select('program_id')
      .where('tenant_id', '=', input.tenantId)
      .where('id', '=', planId)
      .executeTakeFirst();
    if (!plan || plan.program_id !== input.programId)
      throw new AppError('not_found', 'Commission plan not found');
  }
  const rules = await loadRules(db, input.tenantId, planId ?? null);
  const rows = await db
    .selectFrom('deals')
    .selectAll()
    .where('tenant_id', '=', input.tenantId)
    .where('program_id', '=', input.programId)
    .where('stage_category', '=', 'won')
    .where('deleted_at', 'is', null)
    .where('merged_into_crm_deal_id', 'is', null)
    .where('won_at', '>=', periodStart(input.from, setup.timeZone, input.fieldNames?.from ?? 'from'))
    .where('won_at', '<', periodEnd(input.to, setup.timeZone, input.fieldNames?.to ?? 'to'))
    .orderBy('won_at')
    .orderBy('id')
    .execute();
  const attributions = await loadAttributions(
    db,
    input.tenantId,
    rows.map((r) => r.id),
  );
  const partners = await loadPartners(
    db,
    input.tenantId,
    [...attributions.values()].flat().map((a) => a.partnerId),
  );
  const facts = new Map<string, DealFacts>(rows.map((r) => [r.id, dealFacts(r)]));
  const fx = new Map<string, string | null>();
  for (const d of facts.values())
    if (d.currency && d.currency !== setup.currency && d.wonAt)
      fx.set(
        d.id,
        await fxRateOn(db, input.tenantId, d.currency, setup.currency, localDate(d.wonAt, setup.timeZone)),
      );
  const problems: string[] = [];
  const ctx: EngineContext = {
    program: { id: setup.id, currency: setup.currency },
    partners,
    problems,
    fxRate: (key) => fx.get(key.split(':')[1] ?? '') ?? null,
    recordedAncestors: () => undefined,
  };

  const owed: OwedLine[] = [];
  const groups = new Map<
    string,
    { ruleKey: string; partnerId: string; periodKey: string; members: typeof rows }
  >();
  for (const row of rows) {
    const d = facts.get(row.id)!;
    const inForce = rulesInForce(rules, d.wonAt!, true);
    const credits = attributions.get(row.id) ?? [];
    owed.push(
      ...dealLines(
        d,
        inForce.filter((r) => r.type !== 'volume_tier'),
        credits,
        ctx,
      ),
    );
    for (const rule of inForce) {
      if (rule.type !== 'volume_tier' || !dealPasses(rule.conditions, d)) continue;
      const periodKey = periodKeyOf(
        localDate(d.wonAt!, setup.timeZone),
        (rule.config as VolumeTierConfig).period,
      );
      for (const c of creditedPartners(rule, credits, ctx)) {
        const name = `${rule.rule_key}|${c.partnerId}|${periodKey}`;
        const group = groups.get(name) ?? {
          ruleKey: rule.rule_key,
          partnerId: c.partnerId,
          periodKey,
          members: [],
        };
        group.members.push(row);
        groups.set(name, group);
      }
    }
  }
  const draftRules = rules.map((r) => ({ ...r, status: 'active' as const }));
  for (const g of groups.values()) owed.push(...groupLines(draftRules, g, g.members, attributions, ctx));
  for (const d of facts.values()) {
    const mine = owed.filter((l) => l.dealId === d.id && l.kind !== 'override');
    for (const rule of rulesInForce(rules, d.wonAt!, true).filter((r) => r.type === 'override'))
      owed.push(...overrideLines(rule, mine, facts, ctx));
  }
  const totals = new Map<string, { partnerId: string; currency: string; amount: bigint }>();
  for (const line of owed) {
    const key = `${line.partnerId}|${line.currency}`;
    const t = totals.get(key) ?? { partnerId: line.partnerId, currency: line.currency, amount: 0n };
    t.amount += line.amount;
    totals.set(key, t);
  }
  return { lines: owed, totals: [...totals.values()], deals: rows.length, problems: [...new Set(problems)] };
}
