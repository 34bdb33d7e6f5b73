import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { AppError } from '../../src/errors/app-error.ts';
import { accountBalance } from '../../src/ledger/account.repository.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import {
  type PostTransactionInput,
  postTransaction,
  withLedgerRetry,
} from '../../src/ledger/post-transaction.ts';
import { postTransactions } from '../../src/ledger/post-transactions.ts';
import {
  accrualLines,
  entriesOf,
  type LedgerFixture,
  ledgerCounts,
  makeLedgerFixture,
} from '../factories/ledger.factory.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeProgram } from '../factories/program.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';
const at = new Date('2026-03-01T10:00:00.000Z');

describe(`postTransactions (${mode})`, () => {
  let database: TestDatabase;
  let db: Db;
  let f: LedgerFixture;
  let a: string;
  let b: string;
  let c: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
    f = await makeLedgerFixture(db);
    [a, b, c] = f.partners.map((p) => p.id) as [string, string, string];
  });
  afterAll(async () => {
    await database.destroy();
  });

  const accrual = (key: string, shares: [string, bigint][]): PostTransactionInput => ({
    tenantId: f.tenant.id,
    idempotencyKey: key,
    kind: 'accrual',
    cause: { key },
    occurredAt: at,
    lines: accrualLines(f.program.id, 'USD', shares),
  });
  const postAll = (inputs: PostTransactionInput[], options = {}) =>
    db.transaction().execute((tx) => postTransactions(tx, f.tenant.id, inputs, options));
  const pending = (partnerId: string) =>
    accountBalance(db, f.tenant.id, { kind: 'partner_pending', partnerId, currency: 'USD' });

  it('posts each transaction as postTransaction would: a replay of any of them one by one writes nothing', async () => {
    const inputs = [
      accrual('batch:1', [
        [a, 10_000n],
        [b, 1_000n],
      ]),
      accrual('batch:2', [[a, 2_500n]]),
      accrual('batch:3', [
        [c, 700n],
        [a, 1n],
      ]),
    ];
    const results = await postAll(inputs);
    expect(results.map((r) => [r.applied, r.transaction.idempotency_key])).toEqual([
      [true, 'batch:1'],
      [true, 'batch:2'],
      [true, 'batch:3'],
    ]);
    expect(await pending(a)).toBe(12_501n);
    expect(await pending(b)).toBe(1_000n);
    expect(await pending(c)).toBe(700n);
    // Same content hash as the one-by-one path computes: each replays as "already posted".
    for (const input of inputs) {
      const replay = await db.transaction().execute((tx) => postTransaction(tx, input));
      expect(replay.applied).toBe(false);
    }
    // Partner a's chain runs through the three transactions in the order given.
    const aEntries = (await Promise.all(results.map((r) => entriesOf(db, r.transaction.id)))).flatMap(
      (entries) => entries.filter((e) => e.amount > 0n && [10_000n, 2_500n, 1n].includes(e.amount)),
    );
    expect(aEntries.map((e) => [e.amount, e.balance_after])).toEqual([
      [10_000n, 10_000n],
      [2_500n, 12_500n],
      [1n, 12_501n],
    ]);
    expect(aEntries.map((e) => e.account_version)).toEqual([1n, 2n, 3n]);
    expect((await verifyLedger(db, { tenantId: f.tenant.id })).ok).toBe(true);
  });

  it('returns the stored transaction for keys already posted with the same content and posts the others', async () => {
    const before = await ledgerCounts(db, f.tenant.id);
    const seen: string[] = [];
    const results = await postAll([accrual('batch:2', [[a, 2_500n]]), accrual('batch:4', [[b, 40n]])], {
      async beforeLocks(posted: ReadonlyMap<string, unknown>) {
        seen.push(...posted.keys());
      },
    });
    expect(results.map((r) => r.applied)).toEqual([false, true]);
    expect(seen).toEqual(['batch:4']);
    const after = await ledgerCounts(db, f.tenant.id);
    expect(after.transactions - before.transactions).toBe(1);
    expect(await pending(b)).toBe(1_040n);
  });

  it('refuses a key posted with other content, and the batch writes nothing', async () => {
    const before = await ledgerCounts(db, f.tenant.id);
    const error = await postAll([accrual('batch:5', [[c, 5n]]), accrual('batch:1', [[a, 9n]])]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('ledger_idempotency_conflict');
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(before);
  });

  it('reports every invalid input by its position before writing anything', async () => {
    const before = await ledgerCounts(db, f.tenant.id);
    const unbalanced = { ...accrual('batch:6', [[a, 5n]]) };
    unbalanced.lines = [unbalanced.lines[0]!, { ...unbalanced.lines[1]!, amount: -4n }];
    const error = (await postAll([
      accrual('batch:7', [[a, 1n]]),
      accrual('batch:7', [[b, 1n]]),
      unbalanced,
      { ...accrual('batch:8', [[a, 1n]]), tenantId: '00000000-0000-4000-8000-000000000000' },
    ]).catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('[1].idempotencyKey is repeated');
    expect(error.message).toMatch(/\[2\]\.lines USD lines sum to -?\d+, not 0: unbalanced/);
    expect(error.message).toContain('[3].tenantId must be the batch tenant');
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(before);
  });

  it('batches of concurrent workers over the same accounts neither deadlock nor lose an update', async () => {
    const workers = 4;
    const batches = 5;
    const before = [await pending(a), await pending(b), await pending(c)];
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let n = 0; n < batches; n++) {
          const inputs = Array.from({ length: 12 }, (_, i) =>
            accrual(`race:${w}:${n}:${i}`, [
              [[a, b, c][(w + i) % 3]!, 100n],
              [[a, b, c][(w + i + 1) % 3]!, 10n],
            ]),
          );
          await withLedgerRetry(db, (tx) => postTransactions(tx, f.tenant.id, inputs), { attempts: 10 });
        }
      }),
    );
    const total = [await pending(a), await pending(b), await pending(c)].reduce((s, x) => s + x, 0n);
    expect(total - before.reduce((s, x) => s + x, 0n)).toBe(BigInt(workers * batches * 12) * 110n);
    expect((await verifyLedger(db, { tenantId: f.tenant.id })).ok).toBe(true);
  });

  it("dates each entry with its transaction's time: its recordedAt, else the database's now()", async () => {
    const recordedAt = new Date('2026-03-02T08:30:00.123Z');
    const results = await postAll([
      { ...accrual('dated:recorded', [[a, 5n]]), recordedAt },
      accrual('dated:now', [[b, 7n]]),
    ]);
    const ids = results.map((r) => r.transaction.id);
    const { rows } = await sql<{ transaction_id: string; same: boolean; created_at: Date }>`
      select e.transaction_id, e.created_at = t.created_at as same, e.created_at
      from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
      where e.transaction_id = any(${ids}::uuid[])`.execute(db);
    expect(rows).toHaveLength(4);
    expect(rows.every((row) => row.same)).toBe(true);
    const recorded = rows.filter((row) => row.transaction_id === ids[0]);
    expect(recorded.map((row) => new Date(row.created_at).toISOString())).toEqual([
      recordedAt.toISOString(),
      recordedAt.toISOString(),
    ]);
  });

  it('refuses a batch that would take a balance beyond 2^63 - 1 with a 422, writing nothing; exactly 2^63 - 1 posts', async () => {
    const max = 9_223_372_036_854_775_807n;
    // Its own program and partner: the program's expense shards and the fixture's partners stay usable.
    const program = await makeProgram(db, f.tenant.id);
    const partner = await makePartner(db, f.tenant.id);
    const big = (key: string, amount: bigint): PostTransactionInput => ({
      ...accrual(key, []),
      lines: accrualLines(program.id, 'USD', [[partner.id, amount]]),
    });
    await postAll([big('huge:1', max - 10n)]);
    const before = await ledgerCounts(db, f.tenant.id);
    const error = (await postAll([accrual('huge:other', [[a, 5n]]), big('huge:2', 11n)]).catch(
      (e: unknown) => e,
    )) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error.status).toBe(422);
    expect(error.message).toBe(
      'One of 2 ledger transactions (huge:other, huge:2) would take a ledger balance outside what a balance holds (-9223372036854775808 to 9223372036854775807 minor units)',
    );
    expect(await ledgerCounts(db, f.tenant.id)).toEqual(before);
    const balance = () =>
      accountBalance(db, f.tenant.id, { kind: 'partner_pending', partnerId: partner.id, currency: 'USD' });
    expect(await balance()).toBe(max - 10n);
    await postAll([big('huge:3', 10n)]);
    expect(await balance()).toBe(max);
    expect((await verifyLedger(db, { tenantId: f.tenant.id })).ok).toBe(true);
  });
});
