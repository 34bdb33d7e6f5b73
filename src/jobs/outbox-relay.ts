import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { JobQueue } from './job-queue.ts';

export interface OutboxRelayOptions {
  db: Db;
  queue: JobQueue;
  log: Logger;
  pollMs: number;
  batchSize?: number;
}

const MAX_BACKOFF_MS = 5_000;

/**
 * Moves committed outbox rows to the job queue. Rows are locked with SKIP LOCKED, handed to the
 * queue and marked dispatched in one transaction, so relays in several processes never hand over
 * the same row, and a queue that is down (Redis gone) leaves the rows where they are until it returns.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private failing = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
  }

  /** Dispatches one batch of due rows; returns how many. */
  async drainOnce(): Promise<number> {
    const { db, queue } = this.options;
    const count = await db.transaction().execute(async (tx) => {
      const rows = await tx
        .selectFrom('outbox')
        .selectAll()
        .where('dispatched_at', 'is', null)
        .where('available_at', '<=', sql<Date>`now()`)
        .orderBy('available_at')
        .orderBy('id')
        .limit(this.batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return 0;
      await queue.dispatch(tx, rows);
      await tx
        .updateTable('outbox')
        .set({ dispatched_at: sql<Date>`now()` })
        .where(
          'id',
          'in',
          rows.map((row) => row.id),
        )
        .execute();
      return rows.length;
    });
    if (count > 0) queue.wake();
    return count;
  }

  /** Dispatches until nothing is due. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await this.drainOnce();
      total += count;
      if (count < this.batchSize) return total;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Asks for a pass now, e.g. right after a transaction that enqueued jobs committed. */
  kick(): void {
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    let delay = this.options.pollMs;
    while (this.running) {
      try {
        const count = await this.drainOnce();
        if (this.failing) this.options.log.info('outbox relay: dispatching again');
        this.failing = false;
        delay = this.options.pollMs;
        if (count === this.batchSize) continue;
      } catch (error) {
        if (!this.failing)
          this.options.log.warn({ err: error }, 'outbox relay: dispatch failed; rows stay in the outbox');
        this.failing = true;
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loopDone;
  }
}
