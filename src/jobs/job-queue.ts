import type { Tx } from '../db/database.ts';
import type { OutboxRow } from './outbox.table.ts';

export interface FailedJob {
  id: string;
  name: string;
  queue: string;
  payload: unknown;
  attemptsMade: number;
  error: string;
  failedAt: Date | undefined;
}

export type QueueKind = 'bullmq' | 'in-process';

/**
 * Where jobs wait and run. Two implementations over the same job definitions: BullMQ on Redis, and
 * an in-process runner over the `local_jobs` table. Both honour each job's attempts and backoff.
 */
export interface JobQueue {
  readonly kind: QueueKind;
  /**
   * Takes over outbox rows, called by the relay inside the transaction that marks them dispatched.
   * Must be idempotent per row id: a row dispatched twice (crash between this and the commit) is
   * one job.
   */
  dispatch(tx: Tx, rows: OutboxRow[]): Promise<void>;
  /** Hints that dispatched jobs are ready, so a polling runner looks now. */
  wake(): void;
  /** Starts running jobs of the given queues in this process. */
  startWorkers(queues: string[]): Promise<void>;
  /** Throws when the queue's backing store cannot be reached. */
  ping(): Promise<void>;
  listFailed(limit?: number): Promise<FailedJob[]>;
  /** Puts failed jobs back to run now, with fresh attempts; all of them when no ids are given. */
  retryFailed(ids?: string[]): Promise<number>;
  /** Number of jobs waiting, delayed or running (for tests, benchmarks and the admin console). */
  pendingCount(): Promise<number>;
  /** Stops taking new jobs and waits for those in flight. */
  close(): Promise<void>;
}
