import { Command } from 'commander';
import { config, positiveInteger, UsageError, withDatabase, withRuntime } from './cli-context.ts';
import { registerCommissionCommands } from './commissions/commission.commands.ts';
import { ConfigError } from './config.ts';
import { registerCrmCommands } from './crm/crm.commands.ts';
import { registerLedgerCommands } from './ledger/ledger.commands.ts';
import { registerInboundEmailCommands } from './messaging/inbound-email.commands.ts';
import { registerPartnerCommands } from './partners/partner.commands.ts';
import { registerPayoutCommands } from './payouts/payout.commands.ts';
import { registerTenantCommands } from './tenants/tenant.commands.ts';

// Heavy modules (database drivers, BullMQ, Fastify) are imported by the commands that use them,
// so `--help` and small commands answer quickly.

type Role = 'all' | 'api' | 'worker';

const program = new Command('partnerloop')
  .description('PartnerLoop: a partner program inside your CRM')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

program
  .command('start')
  .description('run the API and the job workers in one process (the embedded default); migrates first')
  .action(() => serve('all'));

program
  .command('api')
  .description('run the HTTP API only (expects an up-to-date database: run `migrate up` first)')
  .action(() => serve('api'));

program
  .command('worker')
  .description('run the job workers only (expects an up-to-date database: run `migrate up` first)')
  .action(() => serve('worker'));

const migrate = program.command('migrate').description('manage the database schema');
migrate
  .command('up')
  .description('apply every pending migration')
  .action(() =>
    withDatabase(async (db) => {
      const { migrateUp } = await import('./db/migrator.ts');
      const applied = await migrateUp(db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
    }),
  );
migrate
  .command('down')
  .description('revert the most recent migration')
  .action(() =>
    withDatabase(async (db) => {
      const { migrateDown } = await import('./db/migrator.ts');
      const reverted = await migrateDown(db);
      console.log(reverted.length ? `reverted: ${reverted.join(', ')}` : 'nothing to revert');
    }),
  );
migrate
  .command('status')
  .description('list migrations and whether each is applied')
  .action(() =>
    withDatabase(async (db) => {
      const { migrationStatus } = await import('./db/migrator.ts');
      for (const m of await migrationStatus(db)) {
        console.log(
          `${m.executedAt ? 'applied' : 'pending'}  ${m.name}${m.executedAt ? `  ${m.executedAt.toISOString()}` : ''}`,
        );
      }
    }),
  );

const jobs = program.command('jobs').description('inspect and retry background jobs');
jobs
  .command('failed')
  .description('list jobs that spent all their attempts')
  .option('--limit <n>', 'how many to list', positiveInteger, 100)
  .option('--json', 'print JSON lines instead of a table')
  .action((options: { limit: number; json?: boolean }) =>
    withRuntime(async (runtime) => {
      const failed = await runtime.queue.listFailed(options.limit);
      if (options.json) {
        for (const job of failed) console.log(JSON.stringify(job));
        return;
      }
      if (failed.length === 0) console.log('no failed jobs');
      for (const job of failed) {
        console.log(
          `${job.id}  ${job.name}  attempts=${job.attemptsMade}  ${job.failedAt?.toISOString() ?? ''}  ${job.error}`,
        );
      }
    }),
  );
jobs
  .command('retry')
  .description('put failed jobs back in the queue with fresh attempts')
  .argument('[ids...]', 'ids of the failed jobs (see `jobs failed`)')
  .option('--all', 'retry every failed job')
  .action((ids: string[], options: { all?: boolean }) =>
    withRuntime(async (runtime) => {
      if (!options.all && ids.length === 0) throw new UsageError('give job ids, or --all');
      const count = await runtime.queue.retryFailed(options.all ? undefined : ids);
      console.log(`requeued ${count} job(s)`);
    }),
  );

program
  .command('prepare')
  .description('prepare the embedded database templates so a first start is quick (run by npm install)')
  .action(async () => {
    const { prepareTemplates } = await import('./db/prepare-templates.ts');
    const made = await prepareTemplates();
    console.log(
      made.length
        ? `embedded database templates prepared: ${made.join(', ')}`
        : 'embedded database templates already present',
    );
  });

async function serve(role: Role): Promise<void> {
  const cfg = config();
  // A new embedded database is copied from its template while the application's modules load.
  (await import('./db/embedded-data-dir.ts')).startFillingDataDir(cfg);
  const { createRuntime } = await import('./runtime.ts');
  const { startApi } = await import('./server.ts');
  const { startWorker } = await import('./worker.ts');
  const runtime = await createRuntime({ config: cfg, migrations: role === 'all' ? 'auto' : 'check' });
  const { logger } = runtime;
  const api = role === 'worker' ? undefined : await startApi(runtime);
  if (role !== 'api') await startWorker(runtime);
  logger.info(
    { role, database: runtime.database.describe, queue: runtime.queue.kind },
    'partnerloop started',
  );
  if (api) console.log(`PartnerLoop (${role}) listening on ${api.url}  (API docs: ${api.url}/docs)`);
  else console.log(`PartnerLoop (worker) running on ${runtime.queue.kind} jobs`);
  if (api?.smtp) console.log(`Partner replies by SMTP on port ${api.smtp.port}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting with work still in flight');
      process.exit(1);
    }, cfg.shutdownTimeoutMs);
    force.unref();
    try {
      // Stop taking requests first (in-flight ones finish), then let running jobs finish.
      await api?.app.close();
      await runtime.close();
      logger.info('shut down cleanly');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

registerTenantCommands(program);
registerPartnerCommands(program);
registerPayoutCommands(program);
registerLedgerCommands(program);
registerCommissionCommands(program);
registerCrmCommands(program);
registerInboundEmailCommands(program);

/** Errors we expect (bad configuration, stale schema, usage) are shown as their message alone. */
const EXPECTED_ERRORS = new Set(['ConfigError', 'PendingMigrationsError', 'MigrationError', 'UsageError']);

function explain(error: unknown): string {
  if (error instanceof ConfigError || error instanceof UsageError) return error.message;
  if (error instanceof Error)
    return EXPECTED_ERRORS.has(error.name) ? error.message : `${error.name}: ${error.message}`;
  return String(error);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`partnerloop: ${explain(error)}`);
  process.exit(1);
}
