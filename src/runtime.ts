import { type Logger, pino } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { SalesforceStreamManager } from './crm/salesforce/salesforce-stream-manager.ts';
import type { Db } from './db/database.ts';
import { embeddedDatabaseDir, migratedTemplateName } from './db/embedded-data-dir.ts';
import { migrateUp, pendingMigrations } from './db/migrator.ts';
import { type DatabaseHandle, openDatabase } from './db/open-database.ts';

export { embeddedDatabaseDir };

import { subscriberMap } from './events/all-subscribers.ts';
import type { EventSubscribers } from './events/publish-event.ts';
import { allInboxProcessors, type InboxProcessor } from './inbox/inbox-processors.ts';
import { allJobs } from './jobs/all-jobs.ts';
import { allSchedules } from './jobs/all-schedules.ts';
import { InProcessQueue } from './jobs/in-process-queue.ts';
import type { JobDefinition } from './jobs/job.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import { JobRegistry } from './jobs/job-registry.ts';
import { OutboxRelay } from './jobs/outbox-relay.ts';
import { type Schedule, Scheduler } from './jobs/scheduler.ts';
import { loggerOptions } from './logger.ts';
import { resolveSecrets } from './secrets.ts';
import type { Services } from './services.ts';

export interface RuntimeOptions {
  config: Config;
  logger?: Logger;
  /** An already open database (tests); otherwise opened from the configuration. */
  database?: DatabaseHandle;
  /** 'auto' migrates up, 'check' refuses to run with pending migrations, 'skip' does neither. */
  migrations?: 'auto' | 'check' | 'skip';
  jobs?: JobDefinition<any>[];
  /** Recurring jobs; the application's by default. */
  schedules?: Schedule[];
  inboxProcessors?: Map<string, InboxProcessor>;
  eventSubscribers?: EventSubscribers;
  clock?: Clock;
}

/** The process-wide parts every role shares: database, job queue, outbox relay, services. */
export interface Runtime {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  db: Db;
  registry: JobRegistry;
  queue: JobQueue;
  relay: OutboxRelay;
  /** Started by the worker role. */
  scheduler: Scheduler;
  /** Salesforce change event subscriptions (CometD, outside the job queue); started by the worker role. */
  salesforceStreams: SalesforceStreamManager;
  services: Services;
  close(): Promise<void>;
}

export class PendingMigrationsError extends Error {
  constructor(readonly pending: string[]) {
    super(
      `${pending.length} database migration(s) pending (${pending.join(', ')}): run \`partnerloop migrate up\``,
    );
    this.name = 'PendingMigrationsError';
  }
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config } = options;
  const logger = options.logger ?? pino(loggerOptions(config));
  const registry = new JobRegistry(options.jobs ?? allJobs);
  const secrets = resolveSecrets(config, (message) => logger.warn(message));
  const database =
    options.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      pgliteDir: embeddedDatabaseDir(config),
      pgliteTemplate: config.databaseUrl ? undefined : await migratedTemplateName(),
    }));
  try {
    const migrations = options.migrations ?? 'auto';
    if (migrations === 'auto') {
      const applied = await migrateUp(database.db);
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
    } else if (migrations === 'check') {
      const pending = await pendingMigrations(database.db);
      if (pending.length > 0) throw new PendingMigrationsError(pending);
    }
  } catch (error) {
    if (!options.database) await database.close();
    throw error;
  }

  const services: Services = {
    config,
    secrets,
    clock: options.clock ?? systemClock,
    inboxProcessors: options.inboxProcessors ?? new Map(Object.entries(allInboxProcessors)),
    eventSubscribers: options.eventSubscribers ?? subscriberMap(),
  };
  const runner = { registry, db: database.db, log: logger, services };
  // BullMQ and ioredis load only when Redis is configured: the embedded default starts faster.
  const queue: JobQueue = config.redisUrl
    ? new (await import('./jobs/bullmq-queue.ts')).BullmqQueue({
        ...runner,
        redisUrl: config.redisUrl,
        concurrency: config.jobConcurrency,
        prefix: config.redisPrefix,
      })
    : new InProcessQueue({ ...runner, concurrency: config.jobConcurrency, pollMs: config.outboxPollMs });
  const relay = new OutboxRelay({ db: database.db, queue, log: logger, pollMs: config.outboxPollMs });
  const scheduler = new Scheduler({
    db: database.db,
    clock: services.clock,
    log: logger,
    schedules: options.schedules ?? allSchedules,
  });

  const salesforceStreams = new SalesforceStreamManager({
    db: database.db,
    services,
    log: logger,
    // jsforce loads only when a stream starts: the embedded default starts faster.
    connect: async (tenantId) =>
      (await import('./crm/salesforce/salesforce-session.ts')).salesforceConnection(
        database.db,
        services,
        tenantId,
      ),
  });

  let closed: Promise<void> | undefined;
  return {
    config,
    logger,
    database,
    db: database.db,
    registry,
    queue,
    relay,
    scheduler,
    salesforceStreams,
    services,
    close() {
      closed ??= (async () => {
        // What the streams received is stored in the inbox before the relay and queue stop.
        await salesforceStreams.stop();
        await scheduler.stop();
        await relay.stop();
        await queue.close();
        if (!options.database) await database.close();
      })();
      return closed;
    },
  };
}
