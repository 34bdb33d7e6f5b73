import { type ChildProcess, execFile, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  type BenchContext,
  freePort,
  makeTempDir,
  median,
  ROOT,
  removeDir,
  round,
  sleep,
  withTimeout,
} from './lib.ts';

const RUNS = 5;
const GOAL_MS = 3_000;
const POLL_MS = 20;
/** A start that takes longer than this is a failure, not a sample. */
const READY_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 15_000;
const BIN = path.join(ROOT, 'bin', 'partnerloop.js');

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
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  try {
    const started = performance.now();
    child = spawn(process.execPath, [BIN, 'start'], {
      cwd: ROOT,
      env: childEnv({ DATA_DIR: dataDir, PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | string>((resolve) => {
      child?.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    let exitStatus: number | string | undefined;
    void exited.then((status) => {
      exitStatus = status;
    });

    let readyMs: number | undefined;
    while (readyMs === undefined) {
      if (exitStatus !== undefined) {
        throw new Error(`partnerloop start exited (${exitStatus}) before it was ready:\n${output}`);
      }
      if (performance.now() - started > READY_TIMEOUT_MS) {
        throw new Error(`partnerloop start not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
      }
      if ((await readyStatus(port)) === 200) readyMs = round(performance.now() - started);
      else await sleep(POLL_MS);
    }

    const stopping = performance.now();
    child.kill('SIGTERM');
    const status = await withTimeout(
      exited,
      EXIT_TIMEOUT_MS,
      () => `no exit ${EXIT_TIMEOUT_MS} ms after SIGTERM`,
    );
    if (status !== 0) throw new Error(`partnerloop exited with ${status} after SIGTERM:\n${output}`);
    return { readyMs, stopMs: round(performance.now() - stopping) };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child?.once('exit', resolve));
    }
    await removeDir(dataDir);
  }
}

/** The status of GET /readyz, or 0 when nothing answers (yet). A new connection each time. */
function readyStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 2_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
  });
}
