import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type BenchContext, makeTempDir, median, ROOT, removeDir, round } from './lib.ts';
import { BIN, startServiceProcess } from './service-process.ts';

const RUNS = 5;
const GOAL_MS = 3_000;
/** A start that takes longer than this is a failure, not a sample. */
const READY_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 15_000;

/**
 * Wall time from spawning `partnerloop start` on an empty DATA_DIR (embedded PGlite, in-process
 * jobs) until GET /readyz answers 200: what a new user waits for after `npm install && npm start`.
 */
export async function coldStart(ctx: BenchContext): Promise<void> {
  // `npm install` runs `partnerloop prepare` (the PGlite template); do the same so the figure is
  // the one a user sees, and not the one-off initdb of an install whose postinstall did not run.
  const prepare = await promisify(execFile)(process.execPath, [BIN, 'prepare'], {
    cwd: ROOT,
    env: childEnv({}),
  });
  ctx.log(`prepare: ${prepare.stdout.trim()}`);

  const samples: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const { readyMs, stopMs } = await startOnce();
    samples.push(readyMs);
    ctx.log(`run ${run}/${RUNS}: ready in ${readyMs} ms (SIGTERM to exit: ${stopMs} ms)`);
  }

  ctx.report({
    bench: 'cold-start',
    runs: RUNS,
    medianMs: round(median(samples)),
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
    samplesMs: samples,
    goalMs: GOAL_MS,
    note:
      'embedded PGlite template prepared beforehand with `partnerloop prepare` (as `npm install` does); ' +
      'each run starts `node bin/partnerloop.js start` on a new empty DATA_DIR, timed from spawn to the first 200 from GET /readyz',
  });
}

/** The environment a first-time user has: no DATABASE_URL or REDIS_URL, so everything embedded. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...extra };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'NODE_ENV', 'PUBLIC_URL']) delete env[name];
  return env;
}

async function startOnce(): Promise<{ readyMs: number; stopMs: number }> {
  const dataDir = await makeTempDir('cold-start');
  try {
    const service = await startServiceProcess('start', childEnv({ DATA_DIR: dataDir }), READY_TIMEOUT_MS);
    const stopped = await service.stop(EXIT_TIMEOUT_MS);
    return { readyMs: service.readyMs, stopMs: stopped.ms };
  } finally {
    await removeDir(dataDir);
  }
}
