import { sql } from 'kysely';
import { AppError } from '../errors/app-error.ts';
import type { Tx } from './database.ts';

let savepoints = 0;

/**
 * Runs `work` in a savepoint of the caller's transaction. A refusal (an AppError below 500 other
 * than a rate limit: the input is what is wrong, so trying again cannot help) rolls back what
 * `work` wrote and is returned, and the transaction carries on; anything else (a deadlock, a lost
 * connection, a bug) is thrown, failing the transaction as before.
 */
export async function unlessRefused<T>(
  tx: Tx,
  work: () => Promise<T>,
): Promise<{ value: T } | { refusal: AppError }> {
  const name = sql.raw(`refusable_${++savepoints}`);
  await sql`savepoint ${name}`.execute(tx);
  try {
    const value = await work();
    await sql`release savepoint ${name}`.execute(tx);
    return { value };
  } catch (error) {
    if (!(error instanceof AppError) || error.status >= 500 || error.status === 429) throw error;
    await sql`rollback to savepoint ${name}`.execute(tx);
    await sql`release savepoint ${name}`.execute(tx);
    return { refusal: error };
  }
}
