import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { type Config, loadConfig } from './config.ts';
import type { Db } from './db/database.ts';
import type { Runtime } from './runtime.ts';

// What CLI commands share: configuration, a database or a whole runtime for the command's duration.
// Heavy modules are imported on use, so `--help` stays quick.

export class UsageError extends Error {
  override name = 'UsageError';
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function config(): Config {
  return loadConfig(process.env);
}

export async function withDatabase(task: (db: Db) => Promise<void>) {
  const cfg = config();
  const { openDatabase } = await import('./db/open-database.ts');
  // The same place the runtime keeps the embedded database (runtime.ts: embeddedDatabaseDir).
  const database = await openDatabase({
    databaseUrl: cfg.databaseUrl,
    pgliteDir: path.join(cfg.dataDir, 'pglite'),
  });
  try {
    await task(database.db);
  } finally {
    await database.close();
  }
}

export async function withRuntime(task: (runtime: Runtime) => Promise<void>) {
  const { createRuntime } = await import('./runtime.ts');
  const runtime = await createRuntime({ config: config(), migrations: 'check' });
  try {
    await task(runtime);
  } finally {
    await runtime.close();
  }
}
