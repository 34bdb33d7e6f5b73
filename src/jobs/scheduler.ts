import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { enqueueJob } from './enqueue.ts';
import type { JobDefinition } from './job.ts';

/** A job to run once per period: its payload names the period ("slot"), and the slot is its dedup id. */
export interface Schedule {
  job: JobDefinition<{ slot: string }>;
  everyMs: number;
}

const TICK_MS = 5_000;

/**
 * Enqueues each scheduled job once per slot of its period. Every worker process runs a scheduler;
 * the outbox's unique (job, dedup id) makes the slot's job exist once however many of them try.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: { db: Db; clock: Clock; log: Logger; schedules: Schedule[]; tickMs?: number },
  ) {
    for (const schedule of options.schedules) {
      if (schedule.job.dedupId?.({ slot: 'x' }) !== 'x') {
        throw new Error(`scheduled job ${schedule.job.name} must use its slot as dedup id`);
      }
    }
  }

  /** The slot `now` falls in for a period: its start, as an ISO string. */
  static slot(now: Date, everyMs: number): string {
    return new Date(Math.floor(now.getTime() / everyMs) * everyMs).toISOString();
  }

  async tick(): Promise<void> {
    const now = this.options.clock.now();
    for (const { job, everyMs } of this.options.schedules) {
      try {
        await enqueueJob(this.options.db, job, { slot: Scheduler.slot(now, everyMs) });
      } catch (error) {
        this.options.log.warn({ err: error, job: job.name }, 'scheduler: could not enqueue');
      }
    }
  }

  start(): void {
    if (this.timer || this.options.schedules.length === 0) return;
    this.ticking = this.tick();
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick());
    }, this.options.tickMs ?? TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }
}
