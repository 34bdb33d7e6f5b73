import type { Command } from 'commander';
import { UsageError, withDatabase } from '../cli-context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `partnerloop commissions …`: what a plan pays, without posting. */
export function registerCommissionCommands(program: Command): void {
  const commissions = program.command('commissions').description('commission plans and their effects');
  commissions
    .command('preview')
    .description('what a (draft) plan would have paid for the deals won in a past period; posts nothing')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--program <id>', 'program id')
    .option('--plan <id>', "the plan to try (default: the program's plan)")
    .requiredOption('--from <day>', 'first local day, YYYY-MM-DD')
    .requiredOption('--to <day>', 'last local day (inclusive), YYYY-MM-DD')
    .option('--json', 'print the result as JSON')
    .action(
      (options: {
        tenant: string;
        program: string;
        plan?: string;
        from: string;
        to: string;
        json?: boolean;
      }) =>
        withDatabase(async (db) => {
          for (const [name, value] of [
            ['--tenant', options.tenant],
            ['--program', options.program],
            ['--plan', options.plan],
          ] as const)
            if (value !== undefined && !UUID.test(value))
              throw new UsageError(`${name}: "${value}" is not an id`);
          for (const [name, value] of [
            ['--from', options.from],
            ['--to', options.to],
          ] as const)
            if (!DAY.test(value)) throw new UsageError(`${name}: "${value}" is not a day (YYYY-MM-DD)`);
          const { previewPlan } = await import('./plan-preview.ts');
          const { previewView } = await import('./commission-plan.schemas.ts');
          const result = previewView(
            await previewPlan(db, {
              tenantId: options.tenant.toLowerCase(),
              programId: options.program.toLowerCase(),
              planId: options.plan?.toLowerCase() ?? null,
              from: options.from,
              to: options.to,
              fieldNames: { from: '--from', to: '--to' },
            }),
          );
          if (options.json) {
            console.log(JSON.stringify(result));
            return;
          }
          console.log(`${result.deals} won deal(s) from ${options.from} to ${options.to}`);
          for (const t of result.totals)
            console.log(`${t.partnerId}  ${t.currency} ${t.amount} (minor units)`);
          for (const p of result.problems) console.log(`problem: ${p}`);
        }),
    );
}
