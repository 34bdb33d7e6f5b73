import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditContext } from '../../src/audit/audit.repository.ts';
import { ManualClock } from '../../src/clock.ts';
import { approveLines } from '../../src/commissions/approve-lines.ts';
import type { Db } from '../../src/db/database.ts';
import type { NormalizedDealEvent } from '../../src/deals/deal-event.ts';
import { recordDealEvent } from '../../src/deals/deal-events.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { movePartnerAudited } from '../../src/partners/partner.service.ts';
import { runPayouts } from '../../src/payouts/payout-run.ts';
import { approveBatch, markPayoutPaid } from '../../src/payouts/payout-settlement.ts';
import type { Services } from '../../src/services.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeProgram } from '../factories/program.factory.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';
import { createTestRuntime, type TestRuntime } from '../helpers/test-runtime.ts';
import {
  applyEvent,
  approveDue,
  balancesOf,
  LEAVES,
  type Model,
  type ModelEvent,
  type Name,
  newModel,
  PARTNERS,
  payoutDue,
  reparent,
} from './ledger-model.ts';

// The small VOPR of reference §6 for the commission engine: random sequences of deal events (won,
// lost, amount change, refund, duplicate delivery, late delivery of an older event), clock advances,
// approvals, payout runs and reparenting, run against an in-memory model (ledger-model.ts) and the
// real system (recordDealEvent, approveLines, runPayouts + settlement, real database). After every
// step every invariant holds (verifyLedger, conservation, payouts) and every partner's pending /
// payable / paid equals the model's.
// Replay: FC_SEED=<seed> FC_PATH=<path> npx vitest run test/commissions/ledger-model.property.test.ts

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.FC_PATH;
// A run is 20–40 steps, each followed by `ledger verify`: 2–7 s a run on PGlite, so the file stays
// under a minute; FC_RUNS asks for more.
const RUNS = Number(process.env.FC_RUNS ?? (usingPostgres ? 20 : 6));
const START = new Date('2026-03-02T09:00:00.000Z');
const HOLD_DAYS = 10;
const MINIMUM = 5_000n;
const DAY_MS = 86_400_000;

interface Real {
  db: Db;
  services: Services;
  clock: ManualClock;
  tenantId: string;
  programId: string;
  ids: Record<Name, string>;
  crmDealIds: string[];
  audit: AuditContext;
}

interface System {
  model: Model;
  real: Real;
}

// Edge amounts: 0, products landing on .5 (105 → 10.5 → 10, 115 → 11.5 → 12, 25 → 2.5 → 2), the
// minimum payout exactly and one unit either side (49,995 → 5,000; 49,985 → 4,998; 50,015 → 5,002).
const AMOUNTS = [0n, 5n, 25n, 105n, 115n, 150n, 1_000n, 49_985n, 49_995n, 50_000n, 50_015n, 123_456n];

async function deliver(real: Real, event: ModelEvent): Promise<void> {
  const normalized: NormalizedDealEvent = {
    tenantId: real.tenantId,
    source: 'api',
    sourceEventId: event.id,
    crmDealId: real.crmDealIds[event.deal]!,
    occurredAt: new Date(event.at),
    type: event.kind === 'amount' ? 'deal.amount_changed' : 'deal.stage_changed',
    changes:
      event.kind === 'amount'
        ? { amount: { amount: event.amount!, currency: 'USD' } }
        : { stage: { id: event.kind === 'won' ? 'closedwon' : 'closedlost', category: event.kind } },
  };
  await real.db.transaction().execute((tx) => recordDealEvent(tx, real.services, normalized));
}

/** After every step: the invariants of reference §5, and the model's balances. */
async function check(system: System): Promise<void> {
  const { model, real } = system;
  const report = await verifyLedger(real.db, { tenantId: real.tenantId });
  expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
  expect(report.ok).toBe(true);

  const accounts = await real.db
    .selectFrom('ledger_accounts')
    .select(['kind', 'partner_id', 'balance'])
    .where('tenant_id', '=', real.tenantId)
    .where('program_id', '=', real.programId)
    .execute();
  const byPartner = new Map<string, { pending: bigint; payable: bigint; paid: bigint }>();
  let expense = 0n;
  for (const a of accounts) {
    if (a.kind === 'program_expense') {
      expense += BigInt(a.balance);
      continue;
    }
    const b = byPartner.get(a.partner_id!) ?? { pending: 0n, payable: 0n, paid: 0n };
    if (a.kind === 'partner_pending') b.pending += BigInt(a.balance);
    if (a.kind === 'partner_payable') b.payable += BigInt(a.balance);
    if (a.kind === 'partner_paid') b.paid += BigInt(a.balance);
    byPartner.set(a.partner_id!, b);
  }
  const lineSums = await real.db
    .selectFrom('commission_lines')
    .select(['partner_id'])
    .select((eb) => eb.fn.sum<string>('amount').as('total'))
    .where('tenant_id', '=', real.tenantId)
    .groupBy('partner_id')
    .execute();
  let partnersTotal = 0n;
  for (const name of PARTNERS) {
    const actual = byPartner.get(real.ids[name]) ?? { pending: 0n, payable: 0n, paid: 0n };
    // Model == real, per partner and state.
    expect({ partner: name, ...actual }).toEqual({ partner: name, ...balancesOf(model, name) });
    // Conservation: what was accrued (net of reversals) = pending + payable + paid.
    const accrued = BigInt(lineSums.find((l) => l.partner_id === real.ids[name])?.total ?? '0');
    expect(actual.pending + actual.payable + actual.paid).toBe(accrued);
    partnersTotal += actual.pending + actual.payable + actual.paid;
  }
  // Double entry: the program spent exactly what its partners hold.
  expect(expense + partnersTotal).toBe(0n);

  // Payouts: each at least the minimum and positive, its amount its lines' sum; a line in one payout.
  const payouts = await real.db
    .selectFrom('payouts')
    .select(['id', 'amount', 'minimum_payout', 'status'])
    .where('tenant_id', '=', real.tenantId)
    .execute();
  for (const p of payouts) {
    expect(BigInt(p.amount) >= BigInt(p.minimum_payout) && BigInt(p.amount) > 0n).toBe(true);
  }
  expect(payouts.length).toBe(model.payouts);
}

class DealEventCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly deal: number,
    readonly kind: 'won' | 'lost' | 'amount' | 'refund',
    readonly amount: bigint,
    /** Hours before now: 0 delivers a fresh event; more delivers an older one late. */
    readonly lateHours: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const current = model.deals[this.deal]!.amount?.value ?? 0n;
    // A refund is an amount drop of the current amount (by the drawn amount's last digits, in %).
    const amount = this.kind === 'refund' ? current - (current * (this.amount % 100n)) / 100n : this.amount;
    const event: ModelEvent = {
      id: `e${++model.seq}`,
      deal: this.deal,
      kind: this.kind === 'refund' ? 'amount' : this.kind,
      ...(this.kind === 'amount' || this.kind === 'refund' ? { amount } : {}),
      at: model.now - this.lateHours * 3_600_000 + model.seq,
    };
    applyEvent(model, event, HOLD_DAYS * DAY_MS);
    await deliver(real, event);
    await check({ model, real });
  }
  toString = () =>
    `${this.kind}(D${this.deal}${this.kind === 'won' || this.kind === 'lost' ? '' : `, ${this.amount}`}${this.lateHours ? `, ${this.lateHours}h late` : ''})`;
}

class DuplicateCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.events.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    // A second delivery of an event already received changes nothing, in the model as in the ledger.
    const event = model.events[this.index % model.events.length]!;
    await deliver(real, event);
    await check({ model, real });
  }
  toString = () => `duplicate(#${this.index})`;
}

class AdvanceClockCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly hours: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    model.now += this.hours * 3_600_000;
    real.clock.set(new Date(model.now));
    await check({ model, real });
  }
  toString = () => `advance(${this.hours}h)`;
}

class ApproveCommand implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    approveDue(model);
    await real.db.transaction().execute((tx) =>
      approveLines(tx, {
        tenantId: real.tenantId,
        selection: { programId: real.programId },
        now: real.clock.now(),
        approvedBy: 'test:model',
        audit: real.audit,
      }),
    );
    await check({ model, real });
  }
  toString = () => 'approve';
}

class PayoutCommand implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    payoutDue(model, MINIMUM);
    await real.db.transaction().execute(async (tx) => {
      const now = real.clock.now();
      const run = await runPayouts(tx, {
        tenantId: real.tenantId,
        currency: 'USD',
        programId: real.programId,
        now,
        createdBy: 'test:model',
        audit: real.audit,
      });
      if (!run.batch) return;
      const ctx = { tenantId: real.tenantId, now, actor: 'test:model', audit: real.audit };
      await approveBatch(tx, ctx, run.batch.id);
      for (const payout of run.payouts) await markPayoutPaid(tx, ctx, payout.id, `ref-${payout.id}`);
    });
    await check({ model, real });
  }
  toString = () => 'payout';
}

class ReparentCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly leaf: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const name = LEAVES[this.leaf % LEAVES.length]!;
    const parent = reparent(model, name);
    await real.db
      .transaction()
      .execute((tx) =>
        movePartnerAudited(
          tx,
          { audit: real.audit, now: real.clock.now() },
          real.ids[name],
          real.ids[parent],
        ),
      );
    await check({ model, real });
  }
  toString = () => `reparent(L${this.leaf % LEAVES.length})`;
}

const DEALS = 3;
const dealEvent = fc
  .tuple(
    fc.nat(DEALS - 1),
    fc.constantFrom(
      'won' as const,
      'won' as const,
      'lost' as const,
      'amount' as const,
      'amount' as const,
      'refund' as const,
    ),
    fc.constantFrom(...AMOUNTS),
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 72 }) },
    ),
  )
  .map(([deal, kind, amount, late]) => new DealEventCommand(deal, kind, amount, late));
// Deal events weigh most: the lifecycle commands only matter once there is money to move.
const commands = [
  dealEvent,
  dealEvent,
  dealEvent,
  dealEvent,
  dealEvent,
  fc.nat(50).map((i) => new DuplicateCommand(i)),
  // Across the hold period (10 days) and just short of it.
  fc.constantFrom(1, 24, 239, 240, 241, 24 * 30).map((h) => new AdvanceClockCommand(h)),
  fc.constantFrom(1, 24, 239, 240, 241, 24 * 30).map((h) => new AdvanceClockCommand(h)),
  fc.constant(new ApproveCommand()),
  fc.constant(new PayoutCommand()),
  fc.nat(1).map((i) => new ReparentCommand(i)),
];

describe(`commission engine against an in-memory model (${mode})`, () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  const clock = new ManualClock(START);

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database, { clock });
  });
  afterAll(async () => {
    await runtime?.close();
    await database?.destroy();
  });

  /** A fresh tenant per run: X and Y at the top, L0 under X and L1 under Y; deals D0, D2 → L0, D1 → L1. */
  async function setup(): Promise<System> {
    const db = runtime.db;
    clock.set(START);
    const { tenant } = await makeTenant(db);
    const program = await makeProgram(db, tenant.id, { currency: 'USD', holdDays: HOLD_DAYS });
    await db.updateTable('programs').set({ minimum_payout: MINIMUM }).where('id', '=', program.id).execute();
    const plan = await db
      .insertInto('commission_plans')
      .values({ tenant_id: tenant.id, program_id: program.id, name: 'Plan' })
      .returningAll()
      .executeTakeFirstOrThrow();
    const rule = (
      rule_key: string,
      type: 'revenue_share' | 'override',
      config: object,
      position: number,
    ) => ({
      tenant_id: tenant.id,
      plan_id: plan.id,
      rule_key,
      version: 1,
      effective_from: new Date('2020-01-01T00:00:00.000Z'),
      effective_to: null,
      status: 'active' as const,
      type,
      config: JSON.stringify(config),
      conditions: '{}',
      position,
    });
    await db
      .insertInto('commission_rules')
      .values([
        rule('share', 'revenue_share', { rate: '0.1' }, 0),
        rule('override', 'override', { basis: 'commission', levels: ['0.1'] }, 1),
      ])
      .execute();
    const x = await makePartner(db, tenant.id, { name: 'X' });
    const y = await makePartner(db, tenant.id, { name: 'Y' });
    const l0 = await makePartner(db, tenant.id, { name: 'L0', parentId: x.id });
    const l1 = await makePartner(db, tenant.id, { name: 'L1', parentId: y.id });
    const ids: Record<Name, string> = { X: x.id, Y: y.id, L0: l0.id, L1: l1.id };
    const crmDealIds: string[] = [];
    for (let d = 0; d < DEALS; d++) {
      const crm = `D${d}-${tenant.id.slice(0, 8)}`;
      crmDealIds.push(crm);
      const deal = await db
        .insertInto('deals')
        .values({ tenant_id: tenant.id, source: 'api', crm_deal_id: crm, program_id: program.id })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('deal_attributions')
        .values({
          tenant_id: tenant.id,
          deal_id: deal.id,
          partner_id: d % 2 === 0 ? l0.id : l1.id,
          position: 0,
        })
        .execute();
    }
    const audit: AuditContext = { tenantId: tenant.id, actorType: 'system', actorId: null, source: 'test' };
    return {
      model: newModel(START.getTime(), DEALS),
      real: {
        db,
        services: runtime.services,
        clock,
        tenantId: tenant.id,
        programId: program.id,
        ids,
        crmDealIds,
        audit,
      },
    };
  }

  it('agrees with the model and keeps every invariant after every step (seeded, replayable)', async () => {
    console.info(`ledger model: FC_SEED=${SEED}${PATH ? ` FC_PATH=${PATH}` : ''} (${RUNS} runs)`);
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: '+1' }), async (cmds) => {
        const system = await setup();
        await fc.asyncModelRun(() => system, cmds);
      }),
      { seed: SEED, numRuns: RUNS, ...(PATH ? { path: PATH } : {}), interruptAfterTimeLimit: 240_000 },
    );
  }, 600_000);
});
