import type { Command } from 'commander';
import { UsageError, withDatabase } from '../cli-context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `partnerloop payouts …`: payout runs from the command line (e.g. a monthly cron). */
export function registerPayoutCommands(program: Command): void {
  const payouts = program.command('payouts').description('run payouts of payable commission balances');
  payouts
    .command('run')
    .description(
      'create a draft payout batch for a currency: every partner whose payable balance reaches its minimum',
    )
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption('--currency <code>', 'ISO 4217 currency, e.g. USD')
    .option('--program <id>', 'only this program')
    .option('--json', 'print the result as JSON')
    .action((options: { tenant: string; currency: string; program?: string; json?: boolean }) =>
      withDatabase(async (db) => {
        if (!UUID.test(options.tenant))
          throw new UsageError(`--tenant: "${options.tenant}" is not a tenant id`);
        if (options.program !== undefined && !UUID.test(options.program))
          throw new UsageError(`--program: "${options.program}" is not a program id`);
        const currency = options.currency.toUpperCase();
        if (!/^[A-Z]{3}$/.test(currency))
          throw new UsageError(`--currency: "${options.currency}" is not ISO 4217`);
        const { runPayouts } = await import('./payout-run.ts');
        const tenantId = options.tenant.toLowerCase();
        const result = await db.transaction().execute((tx) =>
          runPayouts(tx, {
            tenantId,
            currency,
            programId: options.program?.toLowerCase() ?? null,
            now: new Date(),
            createdBy: 'cli',
            audit: { tenantId, actorType: 'cli', actorId: null, source: 'cli' },
          }),
        );
        if (options.json) {
          console.log(JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
          return;
        }
        if (!result.batch) {
          console.log(`no partner reached its minimum payout in ${currency}; no batch created`);
        } else {
          const total = result.payouts.reduce((sum, p) => sum + p.amount, 0n);
          console.log(
            `draft batch ${result.batch.id}: ${result.payouts.length} payout(s), ${total} minor units of ${currency}`,
          );
          for (const p of result.payouts)
            console.log(`  ${p.id}  partner ${p.partner_id}  ${p.amount} (${p.line_count} lines)`);
        }
        if (result.belowMinimum.length > 0)
          console.log(`${result.belowMinimum.length} partner(s) below their minimum keep their balance`);
      }),
    );
}
