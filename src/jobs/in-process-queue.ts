import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import { backoffDelay } from './job.ts';
import type { FailedJob, JobQueue } from './job-queue.ts';
import type { OutboxRow } from './outbox.table.ts';
import { type JobRunner, runJob } from './run-job.ts';

export interface InProcessQueueOptions extends JobRunner {
  concurrency: number;
  pollMs: number;
  /** How long a claimed job stays claimed without a heartbeat; a crashed runner's jobs run again after it. */
  leaseMs?: number;
}

interface ClaimedJob {
  id: bigint;
  job_name: string;
  payload: unknown;
  attempts_made: number;
}

/**
 * The embedded job runner: jobs wait in the `local_jobs` table of the same database, so a job whose
 * transaction committed survives a crash without Redis. Claims use SKIP LOCKED and a lease, so
 * several worker processes may share one PostgreSQL database.
 */
export class InProcessQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  private readonly leaseMs: number;
  private queues: string[] = [];
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly active = new Map<bigint, Promise<void>>();
  private wakeUp: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: InProcessQueueOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  async dispatch(tx: Tx, rows: OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    await tx
      .insertInto('local_jobs')
      .values(
        rows.map((row) => ({
          id: row.id,
          job_name: row.job_name,
          queue: row.queue,
          payload: JSON.stringify(row.payload),
          state: 'waiting' as const,
          run_at: row.available_at,
        })),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  /** Tells the loop there may be work, instead of waiting for the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  async startWorkers(queues: string[]): Promise<void> {
    if (this.running) throw new Error('workers already started');
    this.queues = queues;
    this.running = true;
    this.heartbeat = setInterval(() => void this.extendLeases(), Math.max(1_000, this.leaseMs / 3));
    this.heartbeat.unref();
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let claimedAll = false;
      const free = this.options.concurrency - this.active.size;
      if (free > 0) {
        try {
          const claimed = await this.claim(free);
          for (const job of claimed) this.start(job);
          claimedAll = claimed.length === free;
        } catch (error) {
          this.options.log.warn({ err: error }, 'in-process queue: claiming jobs failed; will retry');
        }
      }
      if (!claimedAll && this.running) await this.sleep(this.options.pollMs);
      else if (this.active.size >= this.options.concurrency) await Promise.race(this.active.values());
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const onJobDone = [...this.active.values()];
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
      // A finished job frees a slot: look for more work at once.
      if (onJobDone.length > 0) void Promise.race(onJobDone).then(done);
    });
  }

  private async claim(limit: number): Promise<ClaimedJob[]> {
    const { db } = this.options;
    const leaseUntil = sql<Date>`now() + ${`${this.leaseMs} milliseconds`}::interval`;
    const ready = db
      .selectFrom('local_jobs')
      .select('id')
      .where('queue', 'in', this.queues)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'waiting'), eb('run_at', '<=', sql<Date>`now()`)]),
          // A claim whose lease ran out belongs to a runner that died: take it over.
          eb.and([eb('state', '=', 'active'), eb('locked_until', '<', sql<Date>`now()`)]),
        ]),
      )
      .orderBy('run_at')
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    return db
      .updateTable('local_jobs')
      .set({ state: 'active', attempts_made: sql`attempts_made + 1`, locked_until: leaseUntil })
      .where('id', 'in', ready)
      .returning(['id', 'job_name', 'payload', 'attempts_made'])
      .execute();
  }

  private start(job: ClaimedJob): void {
    const run = this.execute(job).finally(() => this.active.delete(job.id));
    this.active.set(job.id, run);
  }

  private async execute(job: ClaimedJob): Promise<void> {
    const { db, log, registry } = this.options;
    try {
      await runJob(this.options, {
        id: String(job.id),
        name: job.job_name,
        payload: job.payload,
        attempt: job.attempts_made,
      });
      await db.deleteFrom('local_jobs').where('id', '=', job.id).execute();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const definition = registry.get(job.job_name);
      const attempts = definition?.attempts ?? 1;
      const retry = job.attempts_made < attempts && definition !== undefined;
      log.warn(
        { job: job.job_name, jobId: String(job.id), attempt: job.attempts_made, retry, err: error },
        'job failed',
      );
      try {
        if (retry) {
          const delayMs = backoffDelay(definition.backoff, job.attempts_made);
          await db
            .updateTable('local_jobs')
            .set({
              state: 'waiting',
              locked_until: null,
              last_error: message,
              run_at: sql<Date>`now() + ${`${delayMs} milliseconds`}::interval`,
            })
            .where('id', '=', job.id)
            .execute();
        } else {
          await db
            .updateTable('local_jobs')
            .set({ state: 'failed', locked_until: null, last_error: message, failed_at: sql<Date>`now()` })
            .where('id', '=', job.id)
            .execute();
        }
      } catch (recordError) {
        // The lease runs out and the job is run again: nothing is lost.
        log.error({ err: recordError, jobId: String(job.id) }, 'could not record a job failure');
      }
    }
  }

  private async extendLeases(): Promise<void> {
    if (this.active.size === 0) return;
    try {
      await this.options.db
        .updateTable('local_jobs')
        .set({ locked_until: sql<Date>`now() + ${`${this.leaseMs} milliseconds`}::interval` })
        .where('id', 'in', [...this.active.keys()])
        .where('state', '=', 'active')
        .execute();
    } catch (error) {
      this.options.log.warn({ err: error }, 'in-process queue: extending leases failed');
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.options.db);
  }

  async listFailed(limit = 100): Promise<FailedJob[]> {
    const rows = await this.options.db
      .selectFrom('local_jobs')
      .selectAll()
      .where('state', '=', 'failed')
      .orderBy('failed_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      id: String(row.id),
      name: row.job_name,
      queue: row.queue,
      payload: row.payload,
      attemptsMade: row.attempts_made,
      error: row.last_error ?? '',
      failedAt: row.failed_at ?? undefined,
    }));
  }

  async retryFailed(ids?: string[]): Promise<number> {
    let query = this.options.db
      .updateTable('local_jobs')
      .set({ state: 'waiting', attempts_made: 0, run_at: sql<Date>`now()`, failed_at: null })
      .where('state', '=', 'failed');
    if (ids !== undefined) {
      if (ids.length === 0) return 0;
      query = query.where(
        'id',
        'in',
        ids.map((id) => BigInt(id)),
      );
    }
    const result = await query.executeTakeFirst();
    this.wake();
    return Number(result.numUpdatedRows);
  }

  async pendingCount(): Promise<number> {
    const row = await this.options.db
      .selectFrom('local_jobs')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('state', 'in', ['waiting', 'active'])
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async close(): Promise<void> {
    this.running = false;
    this.wake();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.loopDone;
    await Promise.allSettled(this.active.values());
  }
}
