import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import type { AppError } from '../../src/errors/app-error.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { type PostLine, postTransaction } from '../../src/ledger/post-transaction.ts';
import { reverseTransaction } from '../../src/ledger/reverse-transaction.ts';
import { type LedgerFixture, makeLedgerFixture } from '../factories/ledger.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

// Model-based test (reference §6): random sequences of postings, replays, conflicting reuses of a
// key, reversals (repeated, under another key, of a reversal) and unbalanced attempts, run against
// an in-memory model and the real ledger. After every step, every balance equals the model's and
// `ledger verify` passes. Replay a failure with the seed and path fast-check prints:
// LEDGER_SEED=<seed> LEDGER_PATH=<path> [LEDGER_REPLAY_PATH=<replayPath>] npx vitest run <this file>.

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const SEED = process.env.LEDGER_SEED ? Number(process.env.LEDGER_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS = Number(process.env.LEDGER_PROPERTY_RUNS ?? (usingPostgres ? 40 : 20));
const CURRENCIES = ['USD', 'EUR', 'JPY'] as const;
const at = new Date('2026-03-01T10:00:00.000Z');

type Leg = { partner: number; amount: bigint };

interface Posted {
  key: string;
  currency: string;
  legs: Leg[];
  /** The lines as the model applies them (a reversal's are the original's negated). */
  deltas: Map<string, bigint>;
  isReversal: boolean;
}

interface Model {
  balances: Map<string, bigint>;
  posted: Posted[];
  byKey: Map<string, { content: string; index: number }>;
  /** original key → the key of its reversal */
  reversedBy: Map<string, string>;
}

interface Real {
  db: Db;
  f: LedgerFixture;
  ids: Map<string, string>;
}

const partnerKey = (partner: number, currency: string) => `pending:${partner}:${currency}`;
const expenseKey = (currency: string) => `expense:${currency}`;
const contentOf = (currency: string, legs: Leg[]) =>
  `${currency}|${legs
    .map((l) => `${l.partner}:${l.amount}`)
    .sort()
    .join(',')}`;

function deltasOf(currency: string, legs: Leg[]): Map<string, bigint> {
  const deltas = new Map<string, bigint>();
  for (const leg of legs) {
    const pk = partnerKey(leg.partner, currency);
    deltas.set(pk, (deltas.get(pk) ?? 0n) + leg.amount);
    deltas.set(expenseKey(currency), (deltas.get(expenseKey(currency)) ?? 0n) - leg.amount);
  }
  return deltas;
}

function apply(model: Model, deltas: Map<string, bigint>, sign: bigint): void {
  for (const [key, amount] of deltas)
    model.balances.set(key, (model.balances.get(key) ?? 0n) + sign * amount);
}

function linesOf(real: Real, currency: string, legs: Leg[], order: number): PostLine[] {
  const lines = legs.flatMap((leg): PostLine[] => [
    { account: { kind: 'program_expense', programId: real.f.program.id, currency }, amount: -leg.amount },
    {
      account: { kind: 'partner_pending', partnerId: real.f.partners[leg.partner]!.id, currency },
      amount: leg.amount,
    },
  ]);
  // The same content in another line order is the same transaction.
  return order % 2 === 0 ? lines : [...lines].reverse();
}

/** After every step: the ledger holds what the model says, and verify finds nothing wrong. */
async function checkInvariants(model: Model, real: Real): Promise<void> {
  const rows = await real.db
    .selectFrom('ledger_accounts')
    .select(['kind', 'partner_id', 'currency'])
    .select((eb) => eb.fn.sum<string>('balance').as('balance'))
    .where('tenant_id', '=', real.f.tenant.id)
    .groupBy(['kind', 'partner_id', 'currency'])
    .execute();
  const actual = new Map<string, bigint>();
  for (const row of rows) {
    const key =
      row.kind === 'program_expense'
        ? expenseKey(row.currency)
        : partnerKey(
            real.f.partners.findIndex((p) => p.id === row.partner_id),
            row.currency,
          );
    if (BigInt(row.balance) !== 0n) actual.set(key, BigInt(row.balance));
  }
  const expected = new Map([...model.balances].filter(([, v]) => v !== 0n));
  expect(actual).toEqual(expected);
  const report = await verifyLedger(real.db, { tenantId: real.f.tenant.id });
  expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
  expect(report.counts.transactions).toBe(model.posted.length);
}

class Post implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly key: string,
    readonly currency: string,
    readonly legs: Leg[],
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const content = contentOf(this.currency, this.legs);
    const known = model.byKey.get(this.key);
    const outcome = await real.db
      .transaction()
      .execute((tx) =>
        postTransaction(tx, {
          tenantId: real.f.tenant.id,
          idempotencyKey: this.key,
          kind: 'accrual',
          cause: { key: this.key },
          occurredAt: at,
          lines: linesOf(real, this.currency, this.legs, 0),
        }),
      )
      .catch((error: AppError) => error);
    if (!known) {
      expect(outcome).toMatchObject({ applied: true });
      const result = outcome as { transaction: { id: string } };
      real.ids.set(this.key, result.transaction.id);
      model.byKey.set(this.key, { content, index: model.posted.length });
      const deltas = deltasOf(this.currency, this.legs);
      model.posted.push({
        key: this.key,
        currency: this.currency,
        legs: this.legs,
        deltas,
        isReversal: false,
      });
      apply(model, deltas, 1n);
    } else if (known.content === content) {
      expect(outcome).toMatchObject({ applied: false, transaction: { id: real.ids.get(this.key) } });
    } else {
      expect((outcome as AppError).code).toBe('ledger_idempotency_conflict');
    }
    await checkInvariants(model, real);
  }
  toString = () => `post(${this.key}, ${contentOf(this.currency, this.legs)})`;
}

/** Delivers an earlier posting again, its lines in another order. */
class Replay implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.posted.some((p) => !p.isReversal);
  async run(model: Model, real: Real): Promise<void> {
    const originals = model.posted.filter((p) => !p.isReversal);
    const target = originals[this.pick % originals.length]!;
    const result = await real.db.transaction().execute((tx) =>
      postTransaction(tx, {
        tenantId: real.f.tenant.id,
        idempotencyKey: target.key,
        kind: 'accrual',
        cause: { key: target.key },
        occurredAt: at,
        lines: linesOf(real, target.currency, target.legs, 1),
      }),
    );
    expect(result.applied).toBe(false);
    expect(result.transaction.id).toBe(real.ids.get(target.key));
    await checkInvariants(model, real);
  }
  toString = () => `replay(#${this.pick})`;
}

class Reverse implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly variant: number,
  ) {}
  check = (model: Readonly<Model>) => model.posted.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    const target = model.posted[this.pick % model.posted.length]!;
    const key = `reverse:${target.key}:${this.variant}`;
    const outcome = await real.db
      .transaction()
      .execute((tx) =>
        reverseTransaction(tx, {
          tenantId: real.f.tenant.id,
          transactionId: real.ids.get(target.key)!,
          idempotencyKey: key,
          reason: 'model',
        }),
      )
      .catch((error: AppError) => error);
    const earlier = model.reversedBy.get(target.key);
    if (target.isReversal) {
      expect((outcome as AppError).code).toBe('invalid_transition');
    } else if (earlier === key) {
      expect(outcome).toMatchObject({ applied: false, transaction: { id: real.ids.get(key) } });
    } else if (earlier) {
      expect((outcome as AppError).code).toBe('already_reversed');
    } else {
      expect(outcome).toMatchObject({ applied: true });
      real.ids.set(key, (outcome as { transaction: { id: string } }).transaction.id);
      model.reversedBy.set(target.key, key);
      model.byKey.set(key, { content: `reversal of ${target.key}`, index: model.posted.length });
      const deltas = new Map([...target.deltas].map(([k, v]) => [k, -v]));
      model.posted.push({ key, currency: target.currency, legs: [], deltas, isReversal: true });
      apply(model, target.deltas, -1n);
    }
    await checkInvariants(model, real);
  }
  toString = () => `reverse(#${this.pick}, variant ${this.variant})`;
}

/** Lines that do not balance: refused, and nothing changes. */
class Unbalanced implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly currency: string,
    readonly legs: Leg[],
    readonly off: bigint,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const lines = linesOf(real, this.currency, this.legs, 0);
    lines[0] = { ...lines[0]!, amount: lines[0]!.amount + this.off };
    const outcome = await real.db
      .transaction()
      .execute((tx) =>
        postTransaction(tx, {
          tenantId: real.f.tenant.id,
          idempotencyKey: `unbalanced:${model.posted.length}`,
          kind: 'accrual',
          cause: {},
          occurredAt: at,
          lines,
        }),
      )
      .catch((error: AppError) => error);
    expect((outcome as AppError).code).toBe('validation_failed');
    await checkInvariants(model, real);
  }
  toString = () => `unbalanced(${contentOf(this.currency, this.legs)}, off ${this.off})`;
}

const amount = fc.oneof(
  fc.constantFrom(1n, -1n, 2n ** 53n + 1n),
  fc.bigInt({ min: 1n, max: 10n ** 12n }),
  fc.bigInt({ min: -(10n ** 6n), max: -1n }),
);
const legs = fc.array(fc.record({ partner: fc.integer({ min: 0, max: 2 }), amount }), {
  minLength: 1,
  maxLength: 3,
});
const currency = fc.constantFrom(...CURRENCIES);
const commands = fc.commands(
  [
    fc.tuple(fc.integer({ min: 0, max: 5 }), currency, legs).map(([k, c, l]) => new Post(`deal:${k}`, c, l)),
    fc.nat().map((n) => new Replay(n)),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 1 })).map(([n, v]) => new Reverse(n, v)),
    fc
      .tuple(
        currency,
        legs,
        fc.bigInt({ min: -5n, max: 5n }).filter((b) => b !== 0n),
      )
      .map(([c, l, off]) => new Unbalanced(c, l, off)),
  ],
  {
    maxCommands: 12,
    ...(process.env.LEDGER_REPLAY_PATH ? { replayPath: process.env.LEDGER_REPLAY_PATH } : {}),
  },
);

describe(`the ledger against a model (${mode})`, { timeout: 600_000 }, () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it(`keeps every balance equal to the model and verify clean (seed ${SEED})`, async () => {
    const db = database.handle.db;
    const property = fc.asyncProperty(commands, async (cmds) => {
      // Each run on its own tenant: the model starts empty.
      const setup = async () => ({
        model: { balances: new Map(), posted: [], byKey: new Map(), reversedBy: new Map() } as Model,
        real: { db, f: await makeLedgerFixture(db), ids: new Map() } as Real,
      });
      await fc.asyncModelRun(setup, cmds);
    });
    try {
      await fc.assert(property, {
        seed: SEED,
        numRuns: RUNS,
        ...(process.env.LEDGER_PATH ? { path: process.env.LEDGER_PATH, endOnFailure: true } : {}),
      });
    } catch (error) {
      console.error(`ledger model test failed; replay with LEDGER_SEED=${SEED} (and the path in the error)`);
      throw error;
    }
  });
});
