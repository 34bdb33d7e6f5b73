import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';
import type { DealRow } from '../deals/deal.table.ts';
import {
  dealFacts,
  fxRateOn,
  liveLines,
  loadAttributions,
  loadPartners,
  loadProgramSetup,
  loadRules,
  localDate,
} from './commission-context.ts';
import type { CommissionLineRow } from './commission-line.table.ts';
import { accrueLines, reverseLines } from './commission-lines.ts';
import { addMonths, lastClosedMonth, monthStart } from './recurring-calendar.ts';
import { type MonthRevenue, recurringLines } from './recurring-share.ts';
import { type EngineContext, type OwedLine, rulesInForce } from './rule-engine.ts';

/*
 * The recurring share is accrued by the scheduler once a month has closed (local midnight on the 1st
 * of the next month, tenant time zone), never on the revenue event's arrival: a month's revenue may
 * come as several events, and its share is computed once over all of them. Revenue that arrives for
 * an already closed month, or corrects one (a further revenue event for that month), is picked up
 * by the next hourly run: that month's lines are reversed exactly and re-accrued under a new
 * revision, so what a month holds is always rate × its recorded revenue, posted at most once per
 * state of that revenue.
 *
 * Keys: the first posting of a month is `recurring:<deal>:<rule key>:<YYYY-MM>:partner:<id>`, a
 * revision n appends `:rev<n>`; the month's ledger transactions are `recurring:<deal>:<YYYY-MM>`,
 * `…:rev<n>` and `…:rev<n>:reverse`.
 *
 * The lines carry the deal id (statements trace them to the deal), so the deal engine must leave
 * them alone: settleDeal reconciles only the lines its rules own (liveLines leaves out 'recurring'
 * and 'retainer' lines unless asked for the recurring ones).
 */

const baseOf = (causeKey: string) => causeKey.replace(/:rev\d+$/, '');

interface MonthState {
  revenue: Map<string, bigint>;
  latestAt: number;
}

export interface RecurringSettleResult {
  months: string[];
  reversed: CommissionLineRow[];
  accrued: CommissionLineRow[];
  problems: string[];
}

/** Brings every closed month of one deal to what its recorded revenue owes. */
export async function settleRecurringShare(
  tx: Tx,
  tenantId: string,
  dealId: string,
  now: Date,
): Promise<RecurringSettleResult> {
  const result: RecurringSettleResult = { months: [], reversed: [], accrued: [], problems: [] };
  const deal = await tx
    .selectFrom('deals')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', dealId)
    .forUpdate()
    .executeTakeFirst();
  if (!deal?.program_id) return result;
  const setup = await loadProgramSetup(tx, tenantId, deal.program_id);
  if (!setup) return result;

  const revenueRows = await tx
    .selectFrom('deal_revenues')
    .select(['month', 'amount', 'currency', 'occurred_at'])
    .where('tenant_id', '=', tenantId)
    .where('deal_id', '=', dealId)
    .execute();
  if (revenueRows.length === 0) return result;
  const firstMonth = revenueRows.map((r) => r.month).sort()[0]!;
  const lastClosed = lastClosedMonth(now, setup.timeZone);
  const months = new Map<string, MonthState>();
  for (const r of revenueRows) {
    if (r.month > lastClosed) continue;
    const state = months.get(r.month) ?? { revenue: new Map(), latestAt: 0 };
    state.revenue.set(r.currency, (state.revenue.get(r.currency) ?? 0n) + BigInt(r.amount));
    state.latestAt = Math.max(state.latestAt, r.occurred_at.getTime());
    months.set(r.month, state);
  }
  const held = await liveLines(tx, tenantId, [dealId], 'recurring');
  for (const line of held)
    if (line.period_key && !months.has(line.period_key))
      months.set(line.period_key, { revenue: new Map(), latestAt: 0 });

  const rules = (await loadRules(tx, tenantId, setup.planId)).filter((r) => r.type === 'recurring_share');
  const attributions = (await loadAttributions(tx, tenantId, [dealId])).get(dealId) ?? [];
  const partners = await loadPartners(
    tx,
    tenantId,
    attributions.map((a) => a.partnerId),
  );
  const ctx: EngineContext = {
    program: { id: setup.id, currency: setup.currency },
    partners,
    fxRate: () => null,
    recordedAncestors: () => undefined,
    problems: result.problems,
  };
  const facts = dealFacts(deal as DealRow);

  for (const month of [...months.keys()].sort()) {
    const state = months.get(month)!;
    const heldHere = held.filter((l) => l.period_key === month);
    if (state.revenue.size > 1) {
      result.problems.push(
        `${month}: revenue in several currencies (${[...state.revenue.keys()].join(', ')})`,
      );
      continue;
    }
    const closesAt = monthStart(addMonths(month, 1), setup.timeZone);
    const owed: OwedLine[] = [];
    const [entry] = [...state.revenue.entries()];
    if (entry) {
      const revenue: MonthRevenue = { month, currency: entry[0], amount: entry[1] };
      // The plan as it stood when the month closed.
      const inForce = rulesInForce(rules, new Date(closesAt.getTime() - 1));
      const fx = await fxFor(
        tx,
        tenantId,
        revenue,
        setup.currency,
        heldHere,
        localDate(new Date(closesAt.getTime() - 1), setup.timeZone),
      );
      if (fx === undefined)
        result.problems.push(`${month}: no exchange rate ${revenue.currency} → ${setup.currency}`);
      for (const rule of inForce)
        owed.push(...recurringLines(facts, rule, revenue, firstMonth, attributions, ctx, fx));
    }
    const owedLines = owed.filter((l) => l.amount !== 0n);
    if (sameMonth(heldHere, owedLines)) continue;

    result.months.push(month);
    const occurredAt = new Date(Math.max(closesAt.getTime(), state.latestAt));
    const revision = await revisionOf(tx, tenantId, dealId, month);
    const tag =
      revision === 0 ? `recurring:${dealId}:${month}` : `recurring:${dealId}:${month}:rev${revision}`;
    if (heldHere.length > 0) {
      const reversed = await reverseLines(tx, {
        tenantId,
        lineIds: heldHere.map((l) => l.id),
        transactionKey: `recurring:${dealId}:${month}:rev${revision}:reverse`,
        reason: `recurring revenue of ${month} changed`,
        occurredAt,
        recordedAt: now,
      });
      result.reversed.push(...reversed.lines);
    }
    if (owedLines.length > 0) {
      const suffix = revision === 0 ? '' : `:rev${revision}`;
      const accrued = await accrueLines(tx, {
        tenantId,
        transactionKey: tag,
        cause: { deal: dealId, month, revision, revenue: owedLines[0]!.basisAmount?.toString() ?? null },
        occurredAt,
        holdDays: setup.holdDays,
        recordedAt: now,
        lines: owedLines.map((l) => ({ ...l, causeKey: `${l.key}${suffix}` })),
      });
      result.accrued.push(...accrued.lines);
    }
  }
  return result;
}

/** The rate revenue currency → program currency: the one a held line of the same revenue recorded, else the month's last day's. */
async function fxFor(
  tx: Tx,
  tenantId: string,
  revenue: MonthRevenue,
  programCurrency: string,
  held: CommissionLineRow[],
  lastDay: string,
): Promise<string | null | undefined> {
  if (revenue.currency === programCurrency) return null;
  const same = held.find(
    (l) =>
      l.fx_rate && l.basis_currency === revenue.currency && BigInt(l.basis_amount ?? 0n) === revenue.amount,
  );
  if (same?.fx_rate) return same.fx_rate;
  return (await fxRateOn(tx, tenantId, revenue.currency, programCurrency, lastDay)) ?? undefined;
}

function sameMonth(held: CommissionLineRow[], owed: OwedLine[]): boolean {
  if (held.length !== owed.length) return false;
  const byKey = new Map(held.map((l) => [baseOf(l.cause_key), l]));
  return owed.every((o) => {
    const h = byKey.get(o.key);
    return (
      h !== undefined &&
      h.partner_id === o.partnerId &&
      BigInt(h.amount) === o.amount &&
      h.currency === o.currency &&
      h.rule_id === (o.ruleId ?? null) &&
      (h.rate ?? null) === (o.rate ?? null) &&
      (h.fx_rate ?? null) === (o.fxRate ?? null) &&
      (h.basis_amount === null ? null : BigInt(h.basis_amount)) === (o.basisAmount ?? null)
    );
  });
}

/** How many times the month was accrued before: its next revision number. */
async function revisionOf(tx: Tx, tenantId: string, dealId: string, month: string): Promise<number> {
  const row = await tx
    .selectFrom('commission_lines')
    .select((eb) => eb.fn.count<string>('ledger_transaction_id').distinct().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('deal_id', '=', dealId)
    .where('kind', '=', 'recurring')
    .where('period_key', '=', month)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Deals with a closed month whose revenue no live recurring line reflects yet (new, late or
 * corrected revenue; or a month that owes nothing, which is checked again and posts nothing).
 * `latestClosed` is the latest month any time zone has closed; each deal's tenant decides the rest.
 */
export async function recurringCandidates(db: Db, latestClosed: string) {
  const { rows } = await sql<{ tenant_id: string; deal_id: string }>`
    select distinct m.tenant_id, m.deal_id
    from (
      select tenant_id, deal_id, month, sum(amount) as amount from deal_revenues
      where month <= ${latestClosed}
      group by tenant_id, deal_id, month
    ) m
    where not exists (
      select 1 from commission_lines l
      where l.tenant_id = m.tenant_id and l.deal_id = m.deal_id and l.kind = 'recurring'
        and l.period_key = m.month and l.basis_amount = m.amount and l.status <> 'cancelled'
        and not exists (
          select 1 from commission_lines r where r.tenant_id = l.tenant_id and r.reverses_line_id = l.id
        )
    )
    order by m.tenant_id, m.deal_id`.execute(db);
  return rows;
}

/** One transaction per deal; failures are collected and rethrown so the job retries. */
export async function accrueDueRecurring(
  db: Db,
  now: Date,
): Promise<{ deals: number; months: number; problems: string[] }> {
  // The latest calendar month any zone (UTC+14) has finished.
  const latestClosed = addMonths(new Date(now.getTime() + 14 * 3_600_000).toISOString().slice(0, 7), -1);
  const candidates = await recurringCandidates(db, latestClosed);
  let deals = 0;
  let months = 0;
  const problems: string[] = [];
  const failures: { dealId: string; error: unknown }[] = [];
  for (const { tenant_id, deal_id } of candidates) {
    try {
      const settled = await db
        .transaction()
        .execute((tx) => settleRecurringShare(tx, tenant_id, deal_id, now));
      if (settled.months.length > 0) deals++;
      months += settled.months.length;
      problems.push(...settled.problems.map((p) => `deal ${deal_id}: ${p}`));
    } catch (error) {
      failures.push({ dealId: deal_id, error });
    }
  }
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.error),
      `recurring share accrual failed for ${failures.length} deal(s): ${failures.map((f) => f.dealId).join(', ')}`,
    );
  }
  return { deals, months, problems };
}
