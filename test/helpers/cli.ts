import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'partnerloop.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child CLI: nothing of ours leaks in except what the test passes. */
export function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const { DATABASE_URL, REDIS_URL, DATA_DIR, PORT, ...rest } = process.env;
  return { ...rest, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env };
}

/** Runs `partnerloop <args>` to completion. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return collect(spawnCli(args, env));
}

/** Runs a TypeScript script of the repository in a child Node process (through tsx) to completion. */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<CliResult> {
  return collect(
    spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: cliEnv(env) }),
  );
}

function collect(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function spawnCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(env) });
}
