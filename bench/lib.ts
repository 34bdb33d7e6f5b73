import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';

/** The repository root (bench/..), where `bin/partnerloop.js` and `node_modules` live. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** One result: printed by the runner as one JSON line on stdout. */
export type BenchResult = { bench: string } & Record<string, unknown>;

export interface BenchContext {
  /** Prints one result line on stdout. */
  report(result: BenchResult): void;
  /** Progress and diagnostics: stderr, never stdout. */
  log(message: string): void;
}

/** What every `bench/<name>.bench.ts` exports. */
export type Benchmark = (ctx: BenchContext) => Promise<void>;

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The sample at quantile q (0.99 for p99): the smallest one with at least q of them at or below it. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)]!;
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `partnerloop-bench-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** Rejects with `message` when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * After a bulk load, the state a database reaches on its own by the time it holds that much data:
 * vacuumed (hint bits and visibility map set, which the first reads of fresh rows would otherwise
 * do, writing pages as they read) and analyzed, as autovacuum does; then a checkpoint, so that
 * writing the load out does not land in the timed part. The checkpoint needs a superuser or the
 * pg_checkpoint role; without it the benchmark goes on.
 */
export async function settleAfterBulkLoad(db: Kysely<any>): Promise<void> {
  await sql`vacuum (analyze)`.execute(db);
  await sql`checkpoint`.execute(db).catch(() => {});
}

/**
 * Fresh keys for a benchmark's runtime: set explicitly, so the runtime does not generate them into
 * its DATA_DIR with a warning on stdout (where only result lines belong).
 */
export function benchSecrets(): { TOKEN_ENCRYPTION_KEY: string; LINK_SIGNING_KEY: string } {
  return {
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LINK_SIGNING_KEY: randomBytes(32).toString('hex'),
  };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
