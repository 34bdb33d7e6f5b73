import type { Command } from 'commander';
import { UsageError, withRuntime } from '../cli-context.ts';

/** `partnerloop partners import`: the CSV import of the API, for an operator with a file. */
export function registerPartnerCommands(program: Command): void {
  const partners = program.command('partners').description('manage partners');
  partners
    .command('import')
    .description(
      'create and update partners from a CSV file (columns: external_id,name,kind,tier,status,' +
        'parent_external_id,contact_name,contact_email,payout_method,payout_reference); ' +
        'prints the report and exits 1 if any row failed',
    )
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--json', 'print the report as JSON')
    .argument('<file>', 'the CSV file, with a header row')
    .action((file: string, options: { tenant: string; json?: boolean }) =>
      withRuntime(async ({ db, services }) => {
        const { readFile } = await import('node:fs/promises');
        const { findTenant } = await import('../tenants/tenant.repository.ts');
        const { importPartnersCsv } = await import('./partner-import.ts');
        const { AppError } = await import('../errors/app-error.ts');
        if (!/^[0-9a-f-]{36}$/i.test(options.tenant) || !(await findTenant(db, options.tenant))) {
          throw new UsageError(`--tenant: no tenant ${options.tenant}`);
        }
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (error) {
          throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
        }
        const audit = { tenantId: options.tenant, actorType: 'cli' as const, actorId: null, source: 'cli' };
        let report: Awaited<ReturnType<typeof importPartnersCsv>>;
        try {
          report = await db
            .transaction()
            .execute((tx) => importPartnersCsv(tx, { audit, now: services.clock.now() }, text));
        } catch (error) {
          // A file that cannot be read as a whole: list every problem, as the API does.
          const problems = (error as InstanceType<typeof AppError>).details as
            | { errors?: { line: number; reason: string }[] }
            | undefined;
          if (error instanceof AppError && problems?.errors) {
            const lines = problems.errors.map((p) => `line ${p.line}: ${p.reason}`);
            throw new UsageError(`${file} cannot be imported:\n${lines.join('\n')}`);
          }
          throw error;
        }
        if (options.json) console.log(JSON.stringify(report));
        else {
          console.log(
            `created ${report.created}, updated ${report.updated}, unchanged ${report.unchanged}, ` +
              `errors ${report.errors.length}`,
          );
          for (const e of report.errors) console.log(`line ${e.line}: ${e.reason}`);
        }
        if (report.errors.length > 0) process.exitCode = 1;
      }),
    );
}
