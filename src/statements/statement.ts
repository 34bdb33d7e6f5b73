import { type RawBuilder, sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';

/*
 * A partner's statement for a period [from, to): its balance in each state at the start, what moved
 * during the period, the balance at the end, and every line that moved, traceable to its deal, deal
 * event and rule (with the rate, basis and fx rate it was computed with) and to its payout.
 *
 * States follow the ledger accounts: pending (in hold or awaiting approval: partner_pending),
 * payable (approved, not paid yet: partner_payable), paid. A line enters pending when it accrued,
 * payable when approved, paid when paid; a clawback of an approved or paid line enters payable
 * directly (it never was pending). So each balance at an instant is a sum over the lines' timestamps,
 * and closing = opening + movements by construction.
 */

export interface StatementInput {
  tenantId: string;
  partnerId: string;
  from: Date;
  to: Date;
  programId?: string | null;
}

export interface StateBalances {
  pending: bigint;
  payable: bigint;
  paid: bigint;
}

export interface StatementBalance {
  programId: string;
  currency: string;
  opening: StateBalances;
  movements: {
    /** Accrued into pending (clawbacks of pending lines included, negative). */
    accrued: bigint;
    /** Pending → payable. */
    approved: bigint;
    /** Clawbacks of approved or paid lines, taken straight from payable (negative). */
    clawedBackFromPayable: bigint;
    /** Payable → paid. */
    paid: bigint;
  };
  closing: StateBalances;
}

export interface StatementLine {
  id: string;
  programId: string;
  kind: string;
  status: string;
  amount: bigint;
  currency: string;
  accruedAt: Date;
  holdUntil: Date;
  approvedAt: Date | null;
  approvedBy: string | null;
  paidAt: Date | null;
  causeKey: string;
  dealId: string | null;
  crmDealId: string | null;
  dealName: string | null;
  dealEventId: string | null;
  dealEventSourceId: string | null;
  dealEventType: string | null;
  ruleId: string | null;
  ruleVersion: number | null;
  rate: string | null;
  basisAmount: bigint | null;
  basisCurrency: string | null;
  fxRate: string | null;
  periodKey: string | null;
  overrideDepth: number | null;
  sourceLineId: string | null;
  reversesLineId: string | null;
  payout: { id: string; batchId: string; status: string; reference: string | null } | null;
}

export interface Statement {
  tenantId: string;
  partnerId: string;
  from: Date;
  to: Date;
  balances: StatementBalance[];
  lines: StatementLine[];
}

const big = (value: unknown): bigint =>
  value === null || value === undefined ? 0n : BigInt(value as string);

export async function buildStatement(db: DbOrTx, input: StatementInput): Promise<Statement> {
  const { tenantId, partnerId, from, to } = input;
  const program = input.programId ? sql`and l.program_id = ${input.programId}::uuid` : sql``;
  // Five reads at once: on a pool they run side by side on separate connections.
  const dealsRead = (ids: RawBuilder<unknown>) => dealsWhere(db, tenantId, ids);
  const eventsRead = (ids: RawBuilder<unknown>) => eventsWhere(db, tenantId, ids);
  const payoutsRead = (ids: RawBuilder<unknown>) => payoutsWhere(db, tenantId, ids);
  const [sums, rows, dealRows, eventRows, payoutRows] = await Promise.all([
    balanceSums(db, input, program),
    lineRows(db, input, program),
    dealsRead(periodLines(input, program, 'deal_id')),
    eventsRead(periodLines(input, program, 'deal_event_id')),
    payoutsRead(periodLines(input, program, 'payout_id')),
  ]);
  const [deals, events, payouts] = await Promise.all([
    byId(rows, 'deal_id', dealRows, dealsRead),
    byId(rows, 'deal_event_id', eventRows, eventsRead),
    byId(rows, 'payout_id', payoutRows, payoutsRead),
  ]);

  const balances: StatementBalance[] = sums.map((s) => {
    const opening = { pending: big(s.open_pending), payable: big(s.open_payable), paid: big(s.open_paid) };
    const movements = {
      accrued: big(s.accrued),
      approved: big(s.approved),
      clawedBackFromPayable: big(s.clawed_back),
      paid: big(s.paid),
    };
    return {
      programId: s.program_id as string,
      currency: s.currency as string,
      opening,
      movements,
      closing: {
        pending: opening.pending + movements.accrued - movements.approved,
        payable: opening.payable + movements.approved + movements.clawedBackFromPayable - movements.paid,
        paid: opening.paid + movements.paid,
      },
    };
  });

  const lines: StatementLine[] = rows.map((r) => {
    const deal = r.deal_id ? deals.get(r.deal_id) : undefined;
    const event = r.deal_event_id ? events.get(r.deal_event_id) : undefined;
    const payout = r.payout_id ? payouts.get(r.payout_id) : undefined;
    return {
      id: r.id,
      programId: r.program_id,
      kind: r.kind,
      status: r.status,
      amount: big(r.amount),
      currency: r.currency,
      accruedAt: r.accrued_at,
      holdUntil: r.hold_until,
      approvedAt: r.approved_at,
      approvedBy: r.approved_by,
      paidAt: r.paid_at,
      causeKey: r.cause_key,
      dealId: r.deal_id,
      crmDealId: deal?.crm_deal_id ?? null,
      dealName: deal?.name ?? null,
      dealEventId: r.deal_event_id,
      dealEventSourceId: event?.source_event_id ?? null,
      dealEventType: event?.type ?? null,
      ruleId: r.rule_id,
      ruleVersion: r.rule_version,
      rate: r.rate,
      basisAmount: r.basis_amount === null ? null : big(r.basis_amount),
      basisCurrency: r.basis_currency,
      fxRate: r.fx_rate,
      periodKey: r.period_key,
      overrideDepth: r.override_depth,
      sourceLineId: r.source_line_id,
      reversesLineId: r.reverses_line_id,
      // payout_id references payouts: a line with one always finds it.
      payout: payout
        ? { id: payout.id, batchId: payout.batch_id, status: payout.status, reference: payout.reference }
        : null,
    };
  });
  return { tenantId, partnerId, from, to, balances, lines };
}

/*
 * The lines that moved in the period, with their own columns only. What they point at (deal, deal
 * event, payout) is read once per distinct row below and joined here: a partner's 10,000 lines share a
 * few thousand deals and a dozen payouts, and every column a row carries costs its output on the
 * server and its parsing here, which is most of a long statement's time (bench/statement.bench.ts).
 */
async function lineRows(db: DbOrTx, input: StatementInput, program: RawBuilder<unknown>) {
  const { rows } = await sql<Record<string, any>>`
    select l.id, l.program_id, l.kind, l.status, l.amount, l.currency, l.accrued_at, l.hold_until, l.approved_at,
      l.approved_by, l.paid_at, l.cause_key, l.deal_id, l.deal_event_id, l.rule_id, l.rule_version, l.rate,
      l.basis_amount, l.basis_currency, l.fx_rate, l.period_key, l.override_depth, l.source_line_id,
      l.reverses_line_id, l.payout_id
    from commission_lines l
    where ${movedInPeriod(input, program)}
    order by l.accrued_at, l.id`.execute(db);
  return rows;
}

/** The partner's lines (of the program, when asked) that moved in the period. */
function movedInPeriod(input: StatementInput, program: RawBuilder<unknown>) {
  const { tenantId, partnerId, from, to } = input;
  return sql`l.tenant_id = ${tenantId} and l.partner_id = ${partnerId} ${program}
      and ((l.accrued_at >= ${from}::timestamptz and l.accrued_at < ${to}::timestamptz)
        or (l.approved_at >= ${from}::timestamptz and l.approved_at < ${to}::timestamptz)
        or (l.paid_at >= ${from}::timestamptz and l.paid_at < ${to}::timestamptz))`;
}

/** One column of the lines that moved in the period, for the reads beside lineRows. */
function periodLines(input: StatementInput, program: RawBuilder<unknown>, column: string) {
  return sql`select ${sql.ref(`l.${column}`)} from commission_lines l where ${movedInPeriod(input, program)}`;
}

/**
 * The rows `read` finds for the ids the lines name, by id. The lines and the first read ran on
 * separate connections, each with its own snapshot: a line committed in between can name a row the
 * first read did not see, and those few are read again by id.
 */
async function byId<T extends { id: string }>(
  lines: Record<string, any>[],
  column: string,
  first: T[],
  read: (ids: RawBuilder<unknown>) => Promise<T[]>,
): Promise<Map<string, T>> {
  const found = new Map(first.map((row) => [row.id, row]));
  const missing = new Set<string>();
  for (const line of lines) if (line[column] && !found.has(line[column])) missing.add(line[column]);
  if (missing.size > 0) {
    for (const row of await read(sql`select unnest(${[...missing]}::uuid[])`)) found.set(row.id, row);
  }
  return found;
}

function dealsWhere(db: DbOrTx, tenantId: string, ids: RawBuilder<unknown>) {
  return db
    .selectFrom('deals')
    .select(['id', 'crm_deal_id', 'name'])
    .where('tenant_id', '=', tenantId)
    .where(sql<boolean>`id in (${ids})`)
    .execute();
}

function eventsWhere(db: DbOrTx, tenantId: string, ids: RawBuilder<unknown>) {
  return db
    .selectFrom('deal_events')
    .select(['id', 'source_event_id', 'type'])
    .where('tenant_id', '=', tenantId)
    .where(sql<boolean>`id in (${ids})`)
    .execute();
}

function payoutsWhere(db: DbOrTx, tenantId: string, ids: RawBuilder<unknown>) {
  return db
    .selectFrom('payouts')
    .select(['id', 'batch_id', 'status', 'reference'])
    .where('tenant_id', '=', tenantId)
    .where(sql<boolean>`id in (${ids})`)
    .execute();
}

/** Per program and currency: the opening balance of each state and the period's movements. */
async function balanceSums(db: DbOrTx, input: StatementInput, program: RawBuilder<unknown>) {
  const { tenantId, partnerId, from, to } = input;
  // "direct": a clawback that landed on payable; every other line starts in pending.
  const { rows } = await sql<Record<string, unknown>>`
    with l as (
      select l.program_id, l.currency, l.amount, l.accrued_at, l.approved_at, l.paid_at,
        (l.kind = 'clawback' and l.approved_at is not null) as direct
      from commission_lines l
      where l.tenant_id = ${tenantId} and l.partner_id = ${partnerId} ${program}
        and l.accrued_at < ${to}::timestamptz
    )
    select program_id, currency,
      sum(amount) filter (where not direct and accrued_at < ${from}::timestamptz
        and (approved_at is null or approved_at >= ${from}::timestamptz)) as open_pending,
      sum(amount) filter (where approved_at < ${from}::timestamptz
        and (paid_at is null or paid_at >= ${from}::timestamptz)) as open_payable,
      sum(amount) filter (where paid_at < ${from}::timestamptz) as open_paid,
      sum(amount) filter (where not direct and accrued_at >= ${from}::timestamptz) as accrued,
      sum(amount) filter (where not direct and approved_at >= ${from}::timestamptz
        and approved_at < ${to}::timestamptz) as approved,
      sum(amount) filter (where direct and approved_at >= ${from}::timestamptz
        and approved_at < ${to}::timestamptz) as clawed_back,
      sum(amount) filter (where paid_at >= ${from}::timestamptz and paid_at < ${to}::timestamptz) as paid
    from l
    group by program_id, currency
    order by program_id, currency`.execute(db);
  return rows;
}
