import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { freePort, ROOT, round, sleep, withTimeout } from './lib.ts';

export const BIN = path.join(ROOT, 'bin', 'partnerloop.js');
const POLL_MS = 20;

export interface ServiceProcess {
  port: number;
  /** From the spawn until GET /readyz first answered 200. */
  readyMs: number;
  /** SIGTERM, then the exit status (0 for a clean shutdown) and how long it took. */
  stop(timeoutMs?: number): Promise<{ status: number | string; ms: number }>;
}

/**
 * Runs `node bin/partnerloop.js <command>` (`start`, `api`) in its own process, as it is deployed,
 * with `env` as its whole environment plus PORT, and waits until GET /readyz answers 200. A child
 * that exits early or is not ready within `readyTimeoutMs` fails with its last output; a failed
 * start leaves no process behind.
 */
export async function startServiceProcess(
  command: 'start' | 'api',
  env: NodeJS.ProcessEnv,
  readyTimeoutMs: number,
): Promise<ServiceProcess> {
  const port = await freePort();
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [BIN, command], {
    cwd: ROOT,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitStatus: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = code ?? signal ?? 'unknown';
      resolve(exitStatus);
    });
  });
  const kill = async () => {
    if (exitStatus !== undefined) return;
    child.kill('SIGKILL');
    await exited;
  };

  try {
    for (;;) {
      if (exitStatus !== undefined)
        throw new Error(`partnerloop ${command} exited (${exitStatus}) before it was ready:\n${output}`);
      if (performance.now() - started > readyTimeoutMs)
        throw new Error(`partnerloop ${command} not ready after ${readyTimeoutMs} ms:\n${output}`);
      if ((await readyStatus(port)) === 200) break;
      await sleep(POLL_MS);
    }
  } catch (error) {
    await kill();
    throw error;
  }
  const readyMs = round(performance.now() - started);
  return {
    port,
    readyMs,
    async stop(timeoutMs = 15_000) {
      const stopping = performance.now();
      child.kill('SIGTERM');
      try {
        const status = await withTimeout(exited, timeoutMs, () => `no exit ${timeoutMs} ms after SIGTERM`);
        if (status !== 0)
          throw new Error(`partnerloop ${command} exited with ${status} after SIGTERM:\n${output}`);
        return { status, ms: round(performance.now() - stopping) };
      } finally {
        await kill();
      }
    },
  };
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
