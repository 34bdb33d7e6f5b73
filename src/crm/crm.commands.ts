import type { Command } from 'commander';
import { UsageError, withRuntime } from '../cli-context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A progress bar on stderr when it is a terminal; plain progress lines every 10 % otherwise. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr) {
  let lastDecile = -1;
  return {
    update({ done, total }: { done: number; total: number | null }) {
      if (stream.isTTY) {
        const width = 30;
        const ratio = total ? Math.min(1, done / total) : 0;
        const bar = total ? `[${'#'.repeat(Math.round(ratio * width)).padEnd(width, '.')}] ` : '';
        stream.write(`\r${bar}${done}${total ? `/${total}` : ''} deals`);
        return;
      }
      const decile = total ? Math.floor((done / total) * 10) : Math.floor(done / 1000);
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${done}${total ? `/${total}` : ''} deals\n`);
      }
    },
    end() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}

/** `partnerloop crm …`: operator commands for the CRM sync. */
export function registerCrmCommands(program: Command): void {
  const crm = program.command('crm').description('CRM sync: backfill deals');
  crm
    .command('backfill')
    .description(
      "read every deal of the tenant's CRM (HubSpot portal, Salesforce org) into the deals mirror (same events as webhooks and change events)",
    )
    .requiredOption('--tenant <id>', 'the tenant to backfill')
    .action((options: { tenant: string }) =>
      withRuntime(async (runtime) => {
        if (!UUID.test(options.tenant))
          throw new UsageError(`--tenant: "${options.tenant}" is not a tenant id`);
        const { backfillDeals } = await import('./crm-reconcile.ts');
        const tenant = await runtime.db
          .selectFrom('tenants')
          .select(['crm_kind'])
          .where('id', '=', options.tenant.toLowerCase())
          .executeTakeFirst();
        if (!tenant) throw new UsageError(`no tenant ${options.tenant}`);
        if (tenant.crm_kind === 'none') throw new UsageError(`tenant ${options.tenant} has no CRM`);
        const progress = progressReporter();
        const started = Date.now();
        const result = await backfillDeals(runtime.db, runtime.services, options.tenant.toLowerCase(), (p) =>
          progress.update(p),
        );
        progress.end();
        if (!result.ok) {
          console.error(`backfill stopped: ${result.error.kind}: ${result.error.message}`);
          process.exitCode = 1;
          return;
        }
        const { deals, outcomes, calls, rateLimited } = result.value;
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        console.log(
          `backfilled ${deals} deals in ${seconds} s (${Object.entries(outcomes)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}); ${calls} CRM calls, ${rateLimited} held back by rate limits`,
        );
      }),
    );
}
