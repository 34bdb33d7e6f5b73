import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { lockOrCreateDeal, setAttributions } from '../../src/deals/deal.repository.ts';
import type { NormalizedDealEvent } from '../../src/deals/deal-event.ts';
import { recordDealEvent } from '../../src/deals/deal-events.ts';
import { recordDealEvents } from '../../src/deals/record-deal-events.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { withLedgerRetry } from '../../src/ledger/post-transaction.ts';
import { type EngineWorld, makeEngineWorld } from '../commissions/engine-fixture.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

// Recording deal events in batches (recordDealEvents, one transaction a batch) must leave exactly
// what recording them one by one (recordDealEvent, one transaction each) leaves: the same deals,
// event outcomes, commission lines, ledger transactions and balances. Random event sequences (won,
// lost, reopened, amount changes in two currencies, renames, revenue, removals, duplicates, late
// deliveries, events of unknown deals) cut into random batches run against two identical tenants.
// Replay: FC_SEED=<seed> FC_PATH=<path> npx vitest run test/deals/record-deal-events.property.test.ts

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.FC_PATH;
const RUNS = Number(process.env.FC_RUNS ?? (usingPostgres ? 12 : 6));
const DEALS = 3;
const START = Date.parse('2026-03-02T09:00:00.000Z');

type Step =
  | { kind: 'won' | 'lost' | 'open'; deal: number; minutes: number; amount: bigint | null }
  | { kind: 'delete'; deal: number; minutes: number }
  | { kind: 'amount'; deal: number; minutes: number; amount: bigint; currency: 'USD' | 'EUR' }
  | { kind: 'rename' | 'revenue'; deal: number; minutes: number }
  | { kind: 'again'; step: number };

const AMOUNT = fc.constantFrom(0n, 1n, 99_999n, 1_000_005n, 250_000_00n);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('won' as const, 'won' as const, 'lost' as const, 'open' as const),
      deal: fc.nat(DEALS),
      minutes: fc.nat(600),
      // A CRM often sends the amount with the stage.
      amount: fc.option(AMOUNT, { freq: 2 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('amount' as const),
      deal: fc.nat(DEALS),
      minutes: fc.nat(600),
      amount: AMOUNT,
      currency: fc.constantFrom('USD' as const, 'USD' as const, 'EUR' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('rename' as const, 'revenue' as const, 'delete' as const),
      deal: fc.nat(DEALS),
      minutes: fc.nat(600),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('again' as const), step: fc.nat(40) }) },
);

interface Plan {
  name: string;
  rules(w: EngineWorld): Promise<void>;
}

const PLANS: Plan[] = [
  {
    name: 'revenue share split over two partners with two override levels',
    async rules(w) {
      await w.rule('revenue_share', { rate: '0.1' }, { key: 'share' });
      await w.rule('override', { basis: 'commission', levels: ['0.1', '0.05'] }, { key: 'ovr' });
      await w.rule(
        'flat_fee',
        { amount: '15000', on: 'deal_won' },
        { key: 'fee', conditions: { minAmount: '100000' } },
      );
    },
  },
  {
    name: 'volume tiers by revenue (recorded one by one within the batch)',
    async rules(w) {
      await w.rule(
        'volume_tier',
        {
          period: 'month',
          measure: 'revenue',
          mode: 'retroactive',
          tiers: [
            { from: '0', rate: '0.05' },
            { from: '1000000', rate: '0.08' },
          ],
        },
        { key: 'tiers' },
      );
      await w.rule('override', { basis: 'commission', levels: ['0.1'] }, { key: 'ovr' });
    },
  },
];

describe(`recordDealEvents in batches = recordDealEvent one by one (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    await database.destroy();
  });

  async function world(plan: Plan) {
    const w = await makeEngineWorld(db);
    const lead = await w.partner();
    const agency = await w.partner({ parentId: lead.id });
    const seller = await w.partner({ parentId: agency.id });
    const delivery = await w.partner();
    await plan.rules(w);
    await db
      .insertInto('fx_rates')
      .values({
        tenant_id: w.tenant.id,
        from_currency: 'EUR',
        to_currency: 'USD',
        rate: '1.0835',
        effective_on: '2026-01-01',
      })
      .execute();
    for (let n = 0; n < DEALS; n++) {
      await w.deal(
        n % 2 === 0
          ? [{ partnerId: seller.id }]
          : [
              { partnerId: seller.id, splitWeight: '2' },
              { partnerId: delivery.id, role: 'delivery', splitWeight: '1' },
            ],
        `deal-${n}`,
      );
    }
    const labels = new Map<string, string>([
      [lead.id, 'lead'],
      [agency.id, 'agency'],
      [seller.id, 'seller'],
      [delivery.id, 'delivery'],
      [w.program.id, 'program'],
      [w.tenant.id, 'tenant'],
    ]);
    return { w, labels };
  }

  function eventsOf(tenantId: string, steps: Step[]): NormalizedDealEvent[] {
    const events: NormalizedDealEvent[] = [];
    steps.forEach((step, i) => {
      if (step.kind === 'again') {
        const earlier = events[step.step % Math.max(events.length, 1)];
        if (earlier) events.push({ ...earlier, tenantId });
        return;
      }
      // Deal index DEALS is a deal nobody created: its first event creates it, outside any program.
      const base = {
        tenantId,
        source: 'api' as const,
        sourceEventId: `evt-${i}`,
        crmDealId: `deal-${step.deal}`,
        occurredAt: new Date(START + step.minutes * 60_000),
      };
      if (step.kind === 'won' || step.kind === 'lost' || step.kind === 'open')
        events.push({
          ...base,
          type: 'deal.stage_changed',
          changes: {
            stage: { id: `stage-${step.kind}`, category: step.kind },
            ...(step.amount === null ? {} : { amount: { amount: step.amount, currency: 'USD' } }),
          },
        });
      else if (step.kind === 'amount')
        events.push({
          ...base,
          type: 'deal.amount_changed',
          changes: { amount: { amount: step.amount, currency: step.currency } },
        });
      else if (step.kind === 'rename')
        events.push({
          ...base,
          type: 'deal.updated',
          changes: { name: `Deal ${i}`, properties: { region: `r${i % 3}` } },
        });
      else if (step.kind === 'delete') events.push({ ...base, type: 'deal.deleted', changes: {} });
      else
        events.push({
          ...base,
          type: 'revenue.recorded',
          changes: {},
          revenue: { revenueId: `rev-${i}`, amount: 50_000n, currency: 'USD', month: '2026-03' },
        });
    });
    return events;
  }

  /** A house account's shard follows the hash of its transaction key, which names the deal's id. */
  const unsharded = (key: string) => key.replace(/^(program_expense|payout_clearing|fx)(:.*):\d+$/, '$1$2');

  function houseSummed(accounts: { account_key: string; balance: bigint; version: bigint }[]) {
    const sums = new Map<string, { account_key: string; balance: bigint; version: bigint }>();
    for (const a of accounts) {
      const sum = sums.get(a.account_key) ?? { account_key: a.account_key, balance: 0n, version: 0n };
      sum.balance += BigInt(a.balance);
      sum.version += BigInt(a.version);
      sums.set(a.account_key, sum);
    }
    return sums.values();
  }

  /** Everything the two tenants must agree on, with ids replaced by names. */
  async function snapshot(w: EngineWorld, labels: Map<string, string>) {
    const tenantId = w.tenant.id;
    const deals = await db.selectFrom('deals').selectAll().where('tenant_id', '=', tenantId).execute();
    for (const d of deals) labels.set(d.id, d.crm_deal_id);
    const name = (text: string | null) =>
      text === null
        ? null
        : text.replace(
            /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
            (id) => labels.get(id) ?? '?',
          );
    const lines = await w.lines();
    const lineKey = new Map(lines.map((l) => [l.id, name(l.cause_key)]));
    const transactions = await db
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .execute();
    const entries = await db
      .selectFrom('ledger_entries as e')
      .innerJoin('ledger_accounts as a', 'a.id', 'e.account_id')
      .innerJoin('ledger_transactions as t', 't.id', 'e.transaction_id')
      .select(['t.idempotency_key', 'a.account_key', 'e.amount'])
      .where('e.tenant_id', '=', tenantId)
      .execute();
    const accounts = await db
      .selectFrom('ledger_accounts')
      .select(['account_key', 'balance', 'version'])
      .where('tenant_id', '=', tenantId)
      .execute();
    const events = await db
      .selectFrom('deal_events')
      .select(['source_event_id', 'deal_id', 'type', 'outcome'])
      .where('tenant_id', '=', tenantId)
      .execute();
    const announced = await db
      .selectFrom('outbox')
      .select('payload')
      .where(sql<string>`payload->>'tenantId'`, '=', tenantId)
      .execute();
    const sorted = <T>(rows: T[]) =>
      rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).sort();
    return {
      deals: sorted(
        deals.map((d) => ({
          crm: d.crm_deal_id,
          program: name(d.program_id),
          name: d.name,
          stage: d.stage,
          category: d.stage_category,
          amount: d.amount,
          currency: d.currency,
          properties: d.properties,
          deleted: d.deleted_at?.toISOString() ?? null,
          won: d.won_at?.toISOString() ?? null,
          last: d.last_event_at?.toISOString() ?? null,
          fieldTimes: d.field_times,
          version: d.version,
        })),
      ),
      events: sorted(events.map((e) => ({ ...e, deal_id: name(e.deal_id) }))),
      lines: sorted(
        lines.map((l) => ({
          key: name(l.cause_key),
          deal: name(l.deal_id),
          partner: name(l.partner_id),
          kind: l.kind,
          status: l.status,
          amount: l.amount,
          currency: l.currency,
          basis: [l.basis_amount, l.basis_currency, l.rate, l.fx_rate, l.period_key, l.override_depth],
          source: l.source_line_id ? lineKey.get(l.source_line_id) : null,
          reverses: l.reverses_line_id ? lineKey.get(l.reverses_line_id) : null,
          event: l.deal_event_id ? 'event' : null,
          hold: l.hold_until.toISOString(),
          explanation: name(JSON.stringify(l.explanation)),
        })),
      ),
      transactions: sorted(
        transactions.map((t) => ({
          key: name(t.idempotency_key),
          kind: t.kind,
          at: t.occurred_at.toISOString(),
          // A clawback lists what it reverses in line id order, an accrual its volume-tier groups in
          // partner id order: random ids, so both are compared as sets.
          cause: (() => {
            const cause = JSON.parse(name(JSON.stringify(t.cause))!) as Record<string, unknown>;
            for (const list of ['reverses', 'lines'])
              if (Array.isArray(cause[list]))
                cause[list] = cause[list].map((x) => JSON.stringify(x)).toSorted();
            return cause;
          })(),
        })),
      ),
      entries: sorted(
        entries.map((e) => ({
          key: name(e.idempotency_key),
          account: unsharded(name(e.account_key)!),
          amount: e.amount,
        })),
      ),
      domainEvents: sorted(
        announced.map(({ payload }) => {
          const { id: _id, ...event } = payload as Record<string, unknown>;
          const named = JSON.parse(name(JSON.stringify(event))!) as { data: { commissions?: unknown[] } };
          // Volume-tier groups are settled in partner id order: compared as a set.
          named.data.commissions = named.data.commissions?.map((c) => JSON.stringify(c)).toSorted();
          return named;
        }),
      ),
      accounts: sorted([
        ...houseSummed(accounts.map((a) => ({ ...a, account_key: unsharded(name(a.account_key)!) }))),
      ]),
    };
  }

  it('tells apart two events of one batch with the same id from two sources (each is its own event)', async () => {
    const { w } = await world(PLANS[0]!);
    const partner = await w.partner();
    await db.transaction().execute(async (tx) => {
      const deal = (await lockOrCreateDeal(tx, w.tenant.id, 'hubspot', 'deal-0'))!;
      await tx.updateTable('deals').set({ program_id: w.program.id }).where('id', '=', deal.id).execute();
      await setAttributions(tx, deal, [{ partnerId: partner.id }]);
    });
    const won = (source: 'api' | 'hubspot', amount: bigint): NormalizedDealEvent => ({
      tenantId: w.tenant.id,
      source,
      sourceEventId: 'same-id',
      crmDealId: 'deal-0',
      occurredAt: new Date(START),
      type: 'deal.stage_changed',
      changes: { stage: { id: 'won', category: 'won' }, amount: { amount, currency: 'USD' } },
    });
    const results = await db
      .transaction()
      .execute((tx) => recordDealEvents(tx, w.services, [won('api', 100_000n), won('hubspot', 300_000n)]));
    expect(results.map((r) => [r.outcome, r.deal?.source, r.deal?.amount])).toEqual([
      ['applied', 'api', 100_000n],
      ['applied', 'hubspot', 300_000n],
    ]);
    const events = await db
      .selectFrom('deal_events')
      .select(['source', 'deal_id'])
      .where('tenant_id', '=', w.tenant.id)
      .where('source_event_id', '=', 'same-id')
      .orderBy('source')
      .execute();
    expect(events.map((e) => [e.source, e.deal_id])).toEqual([
      ['api', results[0]!.deal!.id],
      ['hubspot', results[1]!.deal!.id],
    ]);
    // Each deal's lines name its own event.
    const lines = await db
      .selectFrom('commission_lines as l')
      .innerJoin('deal_events as e', 'e.id', 'l.deal_event_id')
      .select(['l.deal_id', 'e.deal_id as event_deal_id'])
      .where('l.tenant_id', '=', w.tenant.id)
      .execute();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.event_deal_id).toBe(line.deal_id);
  });

  for (const plan of PLANS) {
    it(`${plan.name}: the same deals, outcomes, lines, ledger, balances and domain events (seeded, replayable)`, async () => {
      console.info(`record-deal-events: FC_SEED=${SEED}${PATH ? ` FC_PATH=${PATH}` : ''} (${RUNS} runs)`);
      await fc.assert(
        fc.asyncProperty(
          fc.array(stepArb, { minLength: 4, maxLength: 30 }),
          fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 30 }),
          async (steps, cuts) => {
            const one = await world(plan);
            const batched = await world(plan);
            const results: string[][] = [[], []];
            for (const event of eventsOf(one.w.tenant.id, steps)) {
              const r = await withLedgerRetry(db, (tx) => recordDealEvent(tx, one.w.services, event));
              results[0]!.push(`${r.outcome}:${r.lineIds?.length ?? 0}:${r.deal?.crm_deal_id ?? '-'}`);
            }
            const events = eventsOf(batched.w.tenant.id, steps);
            for (let at = 0, c = 0; at < events.length; c++) {
              const batch = events.slice(at, at + cuts[c % cuts.length]!);
              at += batch.length;
              const rs = await withLedgerRetry(db, (tx) => recordDealEvents(tx, batched.w.services, batch));
              for (const r of rs)
                results[1]!.push(`${r.outcome}:${r.lineIds?.length ?? 0}:${r.deal?.crm_deal_id ?? '-'}`);
            }
            expect(results[1]).toEqual(results[0]);
            expect(await snapshot(batched.w, batched.labels)).toEqual(await snapshot(one.w, one.labels));
            const report = await verifyLedger(db, { tenantId: batched.w.tenant.id });
            expect(report.ok, JSON.stringify(report.checks.filter((c) => c.violations > 0))).toBe(true);
          },
        ),
        { seed: SEED, numRuns: RUNS, ...(PATH ? { path: PATH } : {}), interruptAfterTimeLimit: 240_000 },
      );
    }, 600_000);
  }
});
