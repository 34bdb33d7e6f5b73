import type { Command } from 'commander';
import { UsageError, withDatabase } from '../cli-context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `partnerloop ledger …`: operator checks of the commission ledger. */
export function registerLedgerCommands(program: Command): void {
  const ledger = program.command('ledger').description('inspect and verify the commission ledger');
  ledger
    .command('verify')
    .description(
      'recompute every balance from the entries and check every ledger invariant; exits 1 on any violation',
    )
    .option('--tenant <id>', 'only this tenant (default: all tenants)')
    .option('--json', 'print the report as JSON')
    .action((options: { tenant?: string; json?: boolean }) =>
      withDatabase(async (db) => {
        if (options.tenant !== undefined && !UUID.test(options.tenant))
          throw new UsageError(`--tenant: "${options.tenant}" is not a tenant id`);
        const { verifyLedger, formatVerifyReport } = await import('./ledger-verify.ts');
        const report = await verifyLedger(
          db,
          options.tenant ? { tenantId: options.tenant.toLowerCase() } : {},
        );
        console.log(options.json ? JSON.stringify(report) : formatVerifyReport(report));
        // Not thrown: the report is the message, and the database closes before the exit.
        if (!report.ok) process.exitCode = 1;
      }),
    );
}
