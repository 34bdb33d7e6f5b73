import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob } from '../src/jobs/enqueue.ts';
import { makeRecordingJob } from './factories/recording-job.factory.ts';
import { runCli, spawnCli } from './helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { clearRedisPrefix, createTestRuntime } from './helpers/test-runtime.ts';
import { waitFor } from './helpers/wait-for.ts';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

describe('partnerloop --help', () => {
  it.each([
    [[], /Usage: partnerloop[\s\S]*start[\s\S]*api[\s\S]*worker[\s\S]*migrate[\s\S]*jobs/],
    [['start'], /Usage: partnerloop start[\s\S]*API and the job workers in one process/],
    [['api'], /Usage: partnerloop api[\s\S]*HTTP API only/],
    [['worker'], /Usage: partnerloop worker[\s\S]*job workers only/],
    [['migrate'], /Usage: partnerloop migrate[\s\S]*up[\s\S]*down[\s\S]*status/],
    [['migrate', 'status'], /Usage: partnerloop migrate status/],
    [['jobs', 'failed'], /Usage: partnerloop jobs failed[\s\S]*--limit/],
    [['jobs', 'retry'], /Usage: partnerloop jobs retry[\s\S]*--all/],
  ])('explains %j', async (args, expected) => {
    const result = await runCli([...args, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(expected);
  });
});

describe('partnerloop with a bad environment', () => {
  it('stops start-up with a message naming the variable', async () => {
    const result = await runCli(['start'], {
      PORT: 'eighty',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'pl-cli-')),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT must be an integer');
    expect(result.stderr).toContain('"eighty"');
  });

  it('refuses to start in production without secrets, naming them', async () => {
    const result = await runCli(['start'], {
      NODE_ENV: 'production',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'pl-cli-')),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('TOKEN_ENCRYPTION_KEY is required in production');
    expect(result.stderr).toContain('LINK_SIGNING_KEY is required in production');
  });
});

describe('partnerloop against a database', { timeout: 120_000 }, () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    // The CLI opens the database itself; PGlite allows one process at a time.
    await database.handle.close();
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('migrates up, reports status, migrates down, and the api role refuses a stale schema', async () => {
    const env = { ...database.env };
    const pendingBefore = await runCli(['migrate', 'status'], env);
    expect(pendingBefore.code).toBe(0);
    expect(pendingBefore.stdout).toMatch(/^pending {2}\S+_inbox_outbox_jobs$/m);

    const refused = await runCli(['api'], { ...env, PORT: String(await freePort()) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/migration\(s\) pending .*partnerloop migrate up/);

    const up = await runCli(['migrate', 'up'], env);
    expect(up.stdout).toMatch(/applied: .*_inbox_outbox_jobs/);
    expect((await runCli(['migrate', 'up'], env)).stdout).toContain('already up to date');
    expect((await runCli(['migrate', 'status'], env)).stdout).toMatch(
      /^applied {2}\S+_inbox_outbox_jobs {2}\d{4}-/m,
    );
    const down = await runCli(['migrate', 'down'], env);
    const reverted = /reverted: (\S+)/.exec(down.stdout)?.[1];
    expect(reverted).toBeDefined();
    // Exactly the newest migration went back to pending; the others stay applied.
    const status = (await runCli(['migrate', 'status'], env)).stdout.trim().split('\n');
    expect(status.at(-1)).toBe(`pending  ${reverted}`);
    expect(status.slice(0, -1).every((line) => line.startsWith('applied'))).toBe(true);
  });

  it('start migrates, serves /readyz, and shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawnCli(['start'], {
      ...database.env,
      REDIS_URL: process.env.REDIS_URL,
      PORT: String(port),
      LOG_LEVEL: 'info',
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    try {
      await waitFor('the listening line', () => output.includes(`listening on http://127.0.0.1:${port}`), {
        timeoutMs: 20_000,
      });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(output).toContain('shut down cleanly');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('lists failed jobs and retries them', async () => {
    const migrated = await runCli(['migrate', 'up'], database.env);
    expect(migrated.code).toBe(0);
    await database.reopen();
    const recorder = makeRecordingJob('inbox.process', { attempts: 2, backoffMs: 10, backoff: 'fixed' });
    recorder.failNext(2);
    let runtime = await createTestRuntime(database, { jobs: [recorder.job] });
    const { redisPrefix } = runtime;
    const env = { ...database.env, REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: redisPrefix };
    try {
      await runtime.queue.startWorkers(runtime.registry.queues());
      runtime.relay.start();
      // The job's name must be one the real CLI knows: it uses the application's job list.
      await enqueueJob(runtime.db, recorder.job, { key: 'doomed' });
      // Only this job counts: the `start` above left the scheduler's jobs behind, which this
      // runtime (knowing only the test job) fails as unknown.
      const doomed = async () =>
        (await runtime.queue.listFailed()).filter((job) => job.name === 'inbox.process');
      await waitFor('the job to fail for good', async () => (await doomed()).length === 1);
      await runtime.close();
      await database.handle.close();

      const listed = await runCli(['jobs', 'failed', '--json'], env);
      expect(listed.code).toBe(0);
      const failed = listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .filter((job) => job.name === 'inbox.process');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({
        name: 'inbox.process',
        attemptsMade: 2,
        error: 'planned failure for doomed',
      });

      const noArgs = await runCli(['jobs', 'retry'], env);
      expect(noArgs.code).toBe(1);
      expect(noArgs.stderr).toContain('give job ids, or --all');

      const retried = await runCli(['jobs', 'retry', failed[0].id], env);
      expect(retried.stdout).toContain('requeued 1 job(s)');

      await database.reopen();
      runtime = await createTestRuntime(database, { jobs: [recorder.job], redisPrefix });
      await runtime.queue.startWorkers(runtime.registry.queues());
      runtime.relay.start();
      await waitFor('the retried job to run', () => recorder.runs.length === 3);
      await waitFor('no failed job left', async () =>
        (await runtime.queue.listFailed()).every((job) => job.name !== 'inbox.process'),
      );
    } finally {
      await runtime.close();
      await clearRedisPrefix(redisPrefix);
    }
  });
});

afterAll(() => {
  rmSync(path.join(tmpdir(), 'pl-cli-never'), { recursive: true, force: true });
});
