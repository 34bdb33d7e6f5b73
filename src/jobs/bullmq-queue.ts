import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Tx } from '../db/database.ts';
import type { FailedJob, JobQueue } from './job-queue.ts';
import type { OutboxRow } from './outbox.table.ts';
import { type JobRunner, runJob } from './run-job.ts';

export interface BullmqQueueOptions extends JobRunner {
  redisUrl: string;
  /** Key prefix in Redis (REDIS_PREFIX). */
  prefix: string;
  concurrency: number;
}

const PING_TIMEOUT_MS = 1_000;

/**
 * Jobs on BullMQ. Each outbox row becomes the BullMQ job with id `o<outbox id>`: BullMQ ignores an
 * add whose id it already holds, so a relay that crashed between adding and committing cannot
 * create the job twice. Completed jobs are kept a day for that reason.
 */
export class BullmqQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly producer: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly workerConnections: Redis[] = [];

  constructor(private readonly options: BullmqQueueOptions) {
    // Fail fast while Redis is down: the relay keeps rows in the outbox and tries again later,
    // rather than piling commands up in memory.
    this.producer = new Redis(options.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    });
    this.producer.on('error', () => {});
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.producer, prefix: this.options.prefix });
      queue.on('error', () => {});
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Waits (briefly) for the producer connection, so a start-up or a reconnect is not an outage. */
  private async connected(): Promise<void> {
    if (this.producer.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    let onReady: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        onReady = resolve;
        this.producer.once('ready', onReady);
        timer = setTimeout(() => reject(new Error('redis is not reachable')), PING_TIMEOUT_MS);
      });
    } finally {
      clearTimeout(timer);
      if (onReady) this.producer.off('ready', onReady);
    }
  }

  async dispatch(_tx: Tx, rows: OutboxRow[]): Promise<void> {
    await this.connected();
    const byQueue = new Map<string, OutboxRow[]>();
    for (const row of rows) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
    for (const [queueName, queueRows] of byQueue) {
      await this.queue(queueName).addBulk(
        queueRows.map((row) => {
          const definition = this.options.registry.get(row.job_name);
          return {
            name: row.job_name,
            data: row.payload,
            opts: {
              jobId: `o${row.id}`,
              attempts: definition?.attempts ?? 1,
              backoff: definition
                ? { type: definition.backoff.type, delay: definition.backoff.delayMs }
                : undefined,
              removeOnComplete: { age: 24 * 3600 },
              removeOnFail: false,
            },
          };
        }),
      );
    }
  }

  wake(): void {}

  async startWorkers(queues: string[]): Promise<void> {
    for (const name of queues) {
      const connection = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
      connection.on('error', () => {});
      this.workerConnections.push(connection);
      const worker = new Worker(name, (job: Job) => this.process(job), {
        connection,
        prefix: this.options.prefix,
        concurrency: this.options.concurrency,
      });
      worker.on('error', (error) =>
        this.options.log.warn({ err: error, queue: name }, 'bullmq worker error'),
      );
      worker.on('failed', (job, error) =>
        this.options.log.warn({ job: job?.name, jobId: job?.id, err: error }, 'job failed'),
      );
      this.workers.push(worker);
    }
  }

  private async process(job: Job): Promise<void> {
    await runJob(this.options, {
      id: job.id ?? '',
      name: job.name,
      payload: job.data,
      attempt: job.attemptsMade + 1,
    });
  }

  async ping(): Promise<void> {
    await this.connected();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis did not answer in time')), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.producer.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private knownQueues(): Queue[] {
    return this.options.registry.queues().map((name) => this.queue(name));
  }

  async listFailed(limit = 100): Promise<FailedJob[]> {
    const failed: FailedJob[] = [];
    for (const queue of this.knownQueues()) {
      for (const job of await queue.getFailed(0, limit - 1)) {
        failed.push({
          id: job.id ?? '',
          name: job.name,
          queue: queue.name,
          payload: job.data,
          attemptsMade: job.attemptsMade,
          error: job.failedReason ?? '',
          failedAt: job.finishedOn ? new Date(job.finishedOn) : undefined,
        });
      }
    }
    return failed.slice(0, limit);
  }

  async retryFailed(ids?: string[]): Promise<number> {
    let count = 0;
    for (const queue of this.knownQueues()) {
      for (const job of await queue.getFailed()) {
        if (ids !== undefined && !ids.includes(job.id ?? '')) continue;
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        count++;
      }
    }
    return count;
  }

  async pendingCount(): Promise<number> {
    let count = 0;
    for (const queue of this.knownQueues()) {
      count += await queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized', 'paused');
    }
    return count;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((worker) => worker.close()));
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    for (const connection of [...this.workerConnections, this.producer]) connection.disconnect();
  }
}
