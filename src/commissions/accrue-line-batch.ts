import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import { jsonRows } from '../db/json-rows.ts';
import { postTransactions } from '../ledger/post-transactions.ts';
import type { NewCommissionLineRow } from './commission-line.table.ts';
import {
  type AccrueInput,
  accrualRows,
  accrualTransaction,
  linesByCause,
  resolveSources,
} from './commission-lines.ts';

/**
 * accrueLines for many accruals of one tenant at once, each its own ledger transaction with the
 * same key, content and lines as accrueLines would post, in a fixed number of statements: the
 * ledger transactions, then every commission line in one insert, then the entries under the account
 * locks (postTransactions). Returns the ids of each accrual's lines, in its order (for a replay:
 * the lines it posted before). An override's source must be in its own accrual or posted before.
 */
export async function accrueLineBatch(tx: Tx, tenantId: string, inputs: AccrueInput[]): Promise<string[][]> {
  const work = inputs.map((input) => ({ input, lines: input.lines.filter((line) => line.amount !== 0n) }));
  const posting = work.filter((w) => w.lines.length > 0);
  if (posting.length === 0) return inputs.map(() => []);
  const sources = await resolveSources(
    tx,
    tenantId,
    posting.flatMap((w) => w.lines),
  );
  const ids = new Map<string, string[]>();
  const results = await postTransactions(
    tx,
    tenantId,
    posting.map((w) => accrualTransaction(w.input, w.lines)),
    {
      async beforeLocks(posted) {
        const rows = posting.flatMap((w) => {
          const transaction = posted.get(w.input.transactionKey);
          if (!transaction) return [];
          const built = accrualRows(w.input, w.lines, transaction.id, sources);
          ids.set(
            w.input.transactionKey,
            built.map((row) => row.id as string),
          );
          return built;
        });
        await insertAccrualRows(tx, tenantId, rows);
      },
    },
  );
  const replays = posting.filter((_, i) => !results[i]!.applied);
  if (replays.length > 0) {
    const found = await linesByCause(
      tx,
      tenantId,
      replays.flatMap((w) => w.lines.map((l) => l.causeKey)),
    );
    const byCause = new Map(found.map((row) => [row.cause_key, row.id]));
    for (const w of replays)
      ids.set(
        w.input.transactionKey,
        w.lines.flatMap((l) => byCause.get(l.causeKey) ?? []),
      );
  }
  return inputs.map((input) => ids.get(input.transactionKey) ?? []);
}

/** The columns an accrual sets (accrualRows), with their types: the others keep their defaults. */
const ACCRUAL_COLUMNS = [
  ['id', 'uuid'],
  ['program_id', 'uuid'],
  ['partner_id', 'uuid'],
  ['deal_id', 'uuid'],
  ['deal_event_id', 'uuid'],
  ['rule_id', 'uuid'],
  ['rule_version', 'integer'],
  ['kind', 'text'],
  ['cause_key', 'text'],
  ['override_depth', 'smallint'],
  ['source_line_id', 'uuid'],
  ['amount', 'bigint'],
  ['currency', 'text'],
  ['basis_amount', 'bigint'],
  ['basis_currency', 'text'],
  ['rate', 'text'],
  ['fx_rate', 'text'],
  ['period_key', 'text'],
  ['explanation', 'jsonb'],
  ['ledger_transaction_id', 'uuid'],
  ['status', 'text'],
  ['accrued_at', 'timestamptz'],
  ['hold_until', 'timestamptz'],
] as const;

/**
 * Accrual rows of one tenant in one insert, one array per column (the explanations as one JSON
 * array, jsonRows): a statement whose text and plan do not grow with the number of rows (a VALUES
 * list of 300 lines is 7,000 parameters to parse).
 */
async function insertAccrualRows(tx: Tx, tenantId: string, rows: NewCommissionLineRow[]) {
  if (rows.length === 0) return;
  for (const row of rows) {
    if (
      row.tenant_id !== tenantId ||
      row.reverses_line_id != null ||
      row.approved_at != null ||
      row.payout_id != null
    )
      throw new Error('insertAccrualRows takes new pending accrual lines of its tenant');
  }
  const columns = ACCRUAL_COLUMNS.map(([column, type]) => {
    const values = rows.map((row) => row[column as keyof NewCommissionLineRow]);
    if (type === 'jsonb') {
      if (values.some((value) => typeof value !== 'string'))
        throw new Error(`insertAccrualRows takes ${column} as JSON text`);
      return jsonRows(values as string[]);
    }
    const texts = values.map((value) => {
      if (value === null || value === undefined) return null;
      if (value instanceof Date) return value.toISOString();
      return String(value);
    });
    return sql`unnest(${texts}::${sql.raw(type)}[])`;
  });
  const names = ACCRUAL_COLUMNS.map(([column]) => sql.ref(column));
  await sql`
    insert into commission_lines (tenant_id, ${sql.join(names)})
    select ${tenantId}::uuid, v.* from rows from (${sql.join(columns)}) as v`.execute(tx);
}
