import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { accountBalance } from '../../src/ledger/account.repository.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { type PostLine, postTransaction, withLedgerRetry } from '../../src/ledger/post-transaction.ts';
import { reverseTransaction } from '../../src/ledger/reverse-transaction.ts';
import { type LedgerFixture, makeLedgerFixture } from '../factories/ledger.factory.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

// On PostgreSQL the workers run on their own connections at once; PGlite has one connection, so the
// same test runs there with the workers' transactions serialised.
const mode = usingPostgres ? 'PostgreSQL, 8 connections' : 'PGlite, serialised';
const WORKERS = 8;
const POSTINGS = usingPostgres ? 240 : 48;
/** Each posting is sent by this many workers at once: duplicates race. */
const COPIES = 2;
const CURRENCIES = ['USD', 'EUR'];
const at = new Date('2026-03-01T10:00:00.000Z');

interface Posting {
  key: string;
  lines: PostLine[];
}

function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Runs `tasks` on WORKERS workers, each taking the next task when done with its last. */
async function runWorkers(tasks: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}

describe(`concurrent postings (${mode})`, { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let db: Db;
  let f: LedgerFixture;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
    f = await makeLedgerFixture(db, 6);
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('loses no update, deadlocks nowhere, and posts each key once', async () => {
    // A revenue share and up to three override legs over six partners, lines in random order, so
    // the workers lock overlapping accounts in every order they are listed in.
    const postings: Posting[] = Array.from({ length: POSTINGS }, (_, n) => {
      const currency = CURRENCIES[randomInt(CURRENCIES.length)]!;
      const legs = shuffle(f.partners).slice(0, 2 + randomInt(3));
      const lines = legs.flatMap((partner): PostLine[] => {
        const amount = BigInt(1 + randomInt(100_000));
        return [
          { account: { kind: 'program_expense', programId: f.program.id, currency }, amount: -amount },
          { account: { kind: 'partner_pending', partnerId: partner.id, currency }, amount },
        ];
      });
      return { key: `deal:${n}:v1`, lines: shuffle(lines) };
    });

    const retries: string[] = [];
    let applied = 0;
    let replayed = 0;
    const post = (posting: Posting) => async () => {
      const result = await withLedgerRetry(
        db,
        (tx) =>
          postTransaction(tx, {
            tenantId: f.tenant.id,
            idempotencyKey: posting.key,
            kind: 'accrual',
            cause: { key: posting.key },
            occurredAt: at,
            lines: posting.lines,
          }),
        { onRetry: (code) => retries.push(code) },
      );
      if (result.applied) applied++;
      else replayed++;
    };
    await runWorkers(shuffle(postings.flatMap((p) => Array.from({ length: COPIES }, () => post(p)))));

    expect(retries).toEqual([]);
    expect(applied).toBe(POSTINGS);
    expect(replayed).toBe(POSTINGS * (COPIES - 1));

    // Racing reversals of a quarter of the postings: each sent twice with its key, once with another.
    const reversed = postings.filter((_, n) => n % 4 === 0);
    const ids = new Map(
      (
        await db
          .selectFrom('ledger_transactions')
          .select(['id', 'idempotency_key'])
          .where('tenant_id', '=', f.tenant.id)
          .execute()
      ).map((t) => [t.idempotency_key, t.id]),
    );
    const outcomes: string[] = [];
    const reverse = (posting: Posting, key: string) => async () => {
      try {
        const result = await withLedgerRetry(
          db,
          (tx) =>
            reverseTransaction(tx, {
              tenantId: f.tenant.id,
              transactionId: ids.get(posting.key)!,
              idempotencyKey: key,
              reason: 'deal lost',
            }),
          { onRetry: (code) => retries.push(code) },
        );
        outcomes.push(result.applied ? 'applied' : 'replayed');
      } catch (error) {
        outcomes.push((error as { code?: string }).code ?? String(error));
      }
    };
    await runWorkers(
      shuffle(
        reversed.flatMap((p) => [
          reverse(p, `reverse:${p.key}`),
          reverse(p, `reverse:${p.key}`),
          reverse(p, `other-reverse:${p.key}`),
        ]),
      ),
    );
    expect(retries).toEqual([]);
    // Per posting exactly one reversal wins; the other key's attempt is refused or (if it won) the
    // two same-key attempts are refused.
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(reversed.length);
    expect(outcomes.filter((o) => !['applied', 'replayed', 'already_reversed'].includes(o))).toEqual([]);

    // The model: every posting once, minus the reversed ones.
    const expected = new Map<string, bigint>();
    for (const posting of postings) {
      if (reversed.includes(posting)) continue;
      for (const line of posting.lines) {
        const ref = line.account as { kind: string; partnerId?: string; currency: string };
        const key = `${ref.kind}:${ref.partnerId ?? 'program'}:${ref.currency}`;
        expected.set(key, (expected.get(key) ?? 0n) + line.amount);
      }
    }
    for (const currency of CURRENCIES) {
      for (const partner of f.partners) {
        expect(
          await accountBalance(db, f.tenant.id, { kind: 'partner_pending', partnerId: partner.id, currency }),
          `${partner.name} ${currency}`,
        ).toBe(expected.get(`partner_pending:${partner.id}:${currency}`) ?? 0n);
      }
      expect(
        await accountBalance(db, f.tenant.id, { kind: 'program_expense', programId: f.program.id, currency }),
      ).toBe(expected.get(`program_expense:program:${currency}`) ?? 0n);
    }

    const transactions = await db
      .selectFrom('ledger_transactions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('tenant_id', '=', f.tenant.id)
      .executeTakeFirstOrThrow();
    expect(Number(transactions.n)).toBe(POSTINGS + reversed.length);

    const report = await verifyLedger(db, { tenantId: f.tenant.id });
    expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
