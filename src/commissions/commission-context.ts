import { sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';
import type { DealRow } from '../deals/deal.table.ts';
import { localDate, zonedInstant } from '../registrations/protection-window.ts';
import type { CommissionLineRow } from './commission-line.table.ts';
import type { CommissionRuleRow } from './commission-plan.table.ts';
import type { AttributionFacts, DealFacts, PartnerFacts } from './rule-engine.ts';

/*
 * The reads the commission engine needs, as few round trips as it can: the program with its plan
 * and the tenant's time zone, the plan's rules, attributions, partners with their ancestor chains,
 * the live lines of deals, the exchange rate in force.
 */

/** Deepest hierarchy walked for overrides (a cycle is refused by partners; this bounds a bad row). */
const MAX_DEPTH = 16;

export interface ProgramSetup {
  id: string;
  currency: string;
  holdDays: number;
  planId: string | null;
  timeZone: string;
}

/**
 * A program's setup with the tenant's time zone, the plan in force (the program's, else its newest
 * own plan) and that plan's rules as JSON, in plan order: the select lists and the FROM of
 * `programs p`, shared by loadProgramSetup, loadSettleInputs and loadProgramPlans.
 */
const PROGRAM_SETUP_COLUMNS = sql`p.id, p.currency, p.hold_days, t.time_zone, plan.id as plan_id`;
const PROGRAM_PLAN_COLUMNS = sql`${PROGRAM_SETUP_COLUMNS},
  coalesce((
    select json_agg(r order by r.position, r.rule_key, r.version)
    from commission_rules r where r.tenant_id = p.tenant_id and r.plan_id = plan.id
  ), '[]'::json) as rules`;
const PROGRAM_PLAN_FROM = sql`from programs p
  join tenants t on t.id = p.tenant_id
  left join lateral (
    select coalesce(p.commission_plan_id, (
      select cp.id from commission_plans cp
      where cp.tenant_id = p.tenant_id and cp.program_id = p.id
      order by cp.created_at desc limit 1
    )) as id
  ) plan on true`;

interface ProgramSetupRow {
  id: string;
  currency: string;
  hold_days: number;
  plan_id: string | null;
  time_zone: string;
}
type ProgramPlanRow = ProgramSetupRow & { rules: RuleJson[] };

function setupOf(row: ProgramSetupRow): ProgramSetup {
  return {
    id: row.id,
    currency: row.currency,
    holdDays: row.hold_days,
    planId: row.plan_id,
    timeZone: row.time_zone,
  };
}

function programPlanOf(row: ProgramPlanRow): ProgramPlan {
  return { setup: setupOf(row), rules: rulesOfJson(row.rules) };
}

export async function loadProgramSetup(db: DbOrTx, tenantId: string, programId: string) {
  const { rows } = await sql<ProgramSetupRow>`
    select ${PROGRAM_SETUP_COLUMNS}
    ${PROGRAM_PLAN_FROM}
    where p.tenant_id = ${tenantId} and p.id = ${programId}`.execute(db);
  return rows[0] ? setupOf(rows[0]) : null;
}

export async function loadRules(
  db: DbOrTx,
  tenantId: string,
  planId: string | null,
): Promise<CommissionRuleRow[]> {
  if (!planId) return [];
  return db
    .selectFrom('commission_rules')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('plan_id', '=', planId)
    .orderBy('position')
    .orderBy('rule_key')
    .orderBy('version')
    .execute();
}

export async function loadAttributions(
  db: DbOrTx,
  tenantId: string,
  dealIds: string[],
): Promise<Map<string, AttributionFacts[]>> {
  const map = new Map<string, AttributionFacts[]>();
  if (dealIds.length === 0) return map;
  const rows = await db
    .selectFrom('deal_attributions')
    .select(['deal_id', 'partner_id', 'role', 'split_weight', 'position'])
    .where('tenant_id', '=', tenantId)
    .where('deal_id', 'in', dealIds)
    .orderBy('position')
    .orderBy('created_at')
    .execute();
  for (const r of rows) {
    const list = map.get(r.deal_id) ?? [];
    list.push({
      partnerId: r.partner_id,
      role: r.role,
      splitWeight: String(r.split_weight),
      position: r.position,
    });
    map.set(r.deal_id, list);
  }
  return map;
}

/** The partners and, for each, its ancestors as the hierarchy stands now (parent first). */
export async function loadPartners(
  db: DbOrTx,
  tenantId: string,
  partnerIds: string[],
): Promise<Map<string, PartnerFacts>> {
  const map = new Map<string, PartnerFacts>();
  if (partnerIds.length === 0) return map;
  const { rows } = await sql<PartnerRowFacts>`
    with recursive up(id, kind, tier_id, parent_id, depth) as (
      select id, kind, tier_id, parent_id, 0 from partners
      where tenant_id = ${tenantId} and id in (${sql.join([...new Set(partnerIds)])})
      union
      select p.id, p.kind, p.tier_id, p.parent_id, up.depth + 1 from partners p
      join up on p.id = up.parent_id and p.tenant_id = ${tenantId}
      where up.depth < ${MAX_DEPTH}
    )
    select distinct id, kind, tier_id, parent_id from up`.execute(db);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const id of new Set(partnerIds)) {
    const partner = partnerFacts(id, byId);
    if (partner) map.set(id, partner);
  }
  return map;
}

type PartnerRowFacts = { id: string; kind: string; tier_id: string | null; parent_id: string | null };

/** A partner with its ancestors (parent first) walked through `byId`, bounded and cycle-safe. */
function partnerFacts(id: string, byId: ReadonlyMap<string, PartnerRowFacts>): PartnerFacts | undefined {
  const row = byId.get(id);
  if (!row) return undefined;
  const ancestors: string[] = [];
  let parent = row.parent_id;
  while (parent && ancestors.length < MAX_DEPTH && !ancestors.includes(parent) && parent !== id) {
    ancestors.push(parent);
    parent = byId.get(parent)?.parent_id ?? null;
  }
  return { id, kind: row.kind, tierId: row.tier_id, ancestors };
}

/** Lines of these deals that hold money now: not clawbacks, not cancelled, not reversed. */
export async function liveLines(
  db: DbOrTx,
  tenantId: string,
  dealIds: string[],
  kinds: 'settled' | 'recurring' = 'settled',
): Promise<CommissionLineRow[]> {
  if (dealIds.length === 0) return [];
  return (
    db
      .selectFrom('commission_lines as cl')
      .selectAll('cl')
      .where('cl.tenant_id', '=', tenantId)
      .where('cl.deal_id', 'in', dealIds)
      // The deal's state settles its own lines; recurring months (and retainers) are the
      // scheduler's, brought to what they owe by recurring-accrual.ts, never by a deal event.
      .where((eb) =>
        kinds === 'recurring'
          ? eb('cl.kind', '=', 'recurring')
          : eb('cl.kind', 'not in', ['clawback', 'recurring', 'retainer']),
      )
      .where('cl.status', '<>', 'cancelled')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('commission_lines as r')
              .select('r.id')
              .whereRef('r.tenant_id', '=', 'cl.tenant_id')
              .whereRef('r.reverses_line_id', '=', 'cl.id'),
          ),
        ),
      )
      .orderBy('cl.recorded_at')
      .orderBy('cl.id')
      .execute()
  );
}

/** The rate from → to in force on a local day (the latest effective on or before it), or null. */
export async function fxRateOn(
  db: DbOrTx,
  tenantId: string,
  from: string,
  to: string,
  day: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('fx_rates')
    .select('rate')
    .where('tenant_id', '=', tenantId)
    .where('from_currency', '=', from)
    .where('to_currency', '=', to)
    .where('effective_on', '<=', day)
    .orderBy('effective_on', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.rate ?? null;
}

export function dealFacts(deal: DealRow): DealFacts {
  const owes = deal.stage_category === 'won' && !deal.deleted_at && !deal.merged_into_crm_deal_id;
  return {
    id: deal.id,
    programId: deal.program_id ?? '',
    amount: deal.amount === null ? null : BigInt(deal.amount),
    currency: deal.currency,
    pipeline: deal.pipeline,
    properties: deal.properties ?? {},
    wonAt: owes ? (deal.won_at ?? deal.last_event_at) : null,
  };
}

/** Won deals of a program credited to a partner, won within a period of local days. */
export async function wonDealsInPeriod(
  db: DbOrTx,
  tenantId: string,
  programId: string,
  partnerId: string,
  bounds: { start: string; end: string },
  timeZone: string,
): Promise<DealRow[]> {
  return db
    .selectFrom('deals as d')
    .selectAll('d')
    .where('d.tenant_id', '=', tenantId)
    .where('d.program_id', '=', programId)
    .where('d.stage_category', '=', 'won')
    .where('d.deleted_at', 'is', null)
    .where('d.merged_into_crm_deal_id', 'is', null)
    .where('d.won_at', '>=', zonedInstant(bounds.start, timeZone))
    .where('d.won_at', '<', zonedInstant(bounds.end, timeZone))
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('deal_attributions as a')
          .select('a.deal_id')
          .whereRef('a.tenant_id', '=', 'd.tenant_id')
          .whereRef('a.deal_id', '=', 'd.id')
          .where('a.partner_id', '=', partnerId),
      ),
    )
    .execute();
}

export { localDate };

type RuleJson = Omit<CommissionRuleRow, 'effective_from' | 'effective_to' | 'created_at'> & {
  effective_from: string;
  effective_to: string | null;
  created_at: string;
};

/** What settling a deal reads before it computes anything. */
export interface SettleInputs {
  setup: ProgramSetup;
  rules: CommissionRuleRow[];
  attributions: AttributionFacts[];
  /** The credited partners with their ancestor chains as the hierarchy stands now. */
  partners: Map<string, PartnerFacts>;
}

/**
 * The program's setup (with the tenant's time zone and the plan in force), the plan's rules, the
 * deal's attributions and the credited partners with their ancestors, in ONE round trip: the posting
 * path is latency-bound (every statement of a settle waits for the database, its locks held).
 * Null when the program does not exist.
 */
export async function loadSettleInputs(
  db: DbOrTx,
  tenantId: string,
  programId: string,
  dealId: string,
): Promise<SettleInputs | null> {
  const { rows } = await sql<
    ProgramPlanRow & {
      credits: { partner_id: string; role: string; split_weight: string; position: number }[];
      partners: PartnerRowFacts[];
    }
  >`
    with recursive credit as (
      select partner_id, role, split_weight::text, position, created_at from deal_attributions
      where tenant_id = ${tenantId} and deal_id = ${dealId}
    ),
    up(id, kind, tier_id, parent_id, depth) as (
      select p.id, p.kind, p.tier_id, p.parent_id, 0 from partners p
      where p.tenant_id = ${tenantId} and p.id in (select partner_id from credit)
      union
      select p.id, p.kind, p.tier_id, p.parent_id, up.depth + 1 from partners p
      join up on p.id = up.parent_id and p.tenant_id = ${tenantId}
      where up.depth < ${MAX_DEPTH}
    )
    select ${PROGRAM_PLAN_COLUMNS},
      coalesce((
        select json_agg(json_build_object('partner_id', c.partner_id, 'role', c.role,
          'split_weight', c.split_weight, 'position', c.position) order by c.position, c.created_at)
        from credit c
      ), '[]'::json) as credits,
      coalesce((
        select json_agg(distinct jsonb_build_object('id', u.id, 'kind', u.kind, 'tier_id', u.tier_id,
          'parent_id', u.parent_id))
        from up u
      ), '[]'::json) as partners
    ${PROGRAM_PLAN_FROM}
    where p.tenant_id = ${tenantId} and p.id = ${programId}`.execute(db);
  const row = rows[0];
  if (!row) return null;
  const attributions: AttributionFacts[] = row.credits.map((c) => ({
    partnerId: c.partner_id,
    role: c.role ?? 'referral',
    splitWeight: String(c.split_weight ?? '1'),
    position: c.position ?? 0,
  }));
  const byId = new Map(row.partners.map((p) => [p.id, p]));
  const partners = new Map<string, PartnerFacts>();
  for (const a of attributions) {
    const partner = partnerFacts(a.partnerId, byId);
    if (partner) partners.set(a.partnerId, partner);
  }
  return { ...programPlanOf(row), attributions, partners };
}

/** A program's setup and its plan's rules (every version, in plan order). */
export interface ProgramPlan {
  setup: ProgramSetup;
  rules: CommissionRuleRow[];
}

/** The programs' setups and rules in one round trip, by program id; a missing program is absent. */
export async function loadProgramPlans(
  db: DbOrTx,
  tenantId: string,
  programIds: string[],
): Promise<Map<string, ProgramPlan>> {
  const plans = new Map<string, ProgramPlan>();
  if (programIds.length === 0) return plans;
  const { rows } = await sql<ProgramPlanRow>`
    select ${PROGRAM_PLAN_COLUMNS}
    ${PROGRAM_PLAN_FROM}
    where p.tenant_id = ${tenantId} and p.id = any(${[...new Set(programIds)]}::uuid[])`.execute(db);
  for (const row of rows) plans.set(row.id, programPlanOf(row));
  return plans;
}

function rulesOfJson(rules: RuleJson[]): CommissionRuleRow[] {
  return rules.map((r) => ({
    ...r,
    effective_from: new Date(r.effective_from),
    effective_to: r.effective_to ? new Date(r.effective_to) : null,
    created_at: new Date(r.created_at),
  }));
}
