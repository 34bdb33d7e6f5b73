import { type Command, Option } from 'commander';
import { UsageError, withRuntime } from '../cli-context.ts';
import type { StaffRole } from './tenant.table.ts';

const cliAudit = (tenantId: string) => ({
  tenantId,
  actorType: 'cli' as const,
  actorId: null,
  source: 'cli',
});

/** `partnerloop tenants …` and `partnerloop api-keys …`: what an operator needs before any API call. */
export function registerTenantCommands(program: Command): void {
  const tenants = program.command('tenants').description('create and list tenants (installations)');
  tenants
    .command('create')
    .description('create a tenant; prints its id (add --admin-key to also get an admin API key)')
    .requiredOption('--name <name>', 'display name')
    .option('--time-zone <zone>', 'IANA time zone for periods and windows', 'UTC')
    .option('--currency <code>', 'default ISO 4217 currency', 'USD')
    .option('--admin-key', 'also create an admin API key and print it (shown once)')
    .action((options: { name: string; timeZone: string; currency: string; adminKey?: boolean }) =>
      withRuntime(async ({ db }) => {
        const { insertTenant, isCurrency, isTimeZone } = await import('./tenant.repository.ts');
        const { createApiKey } = await import('./api-key.service.ts');
        const { writeAudit } = await import('../audit/audit.repository.ts');
        if (!isTimeZone(options.timeZone))
          throw new UsageError(`--time-zone: "${options.timeZone}" is not an IANA time zone`);
        if (!isCurrency(options.currency))
          throw new UsageError(`--currency: "${options.currency}" is not an ISO 4217 code`);
        await db.transaction().execute(async (tx) => {
          const tenant = await insertTenant(tx, {
            name: options.name,
            timeZone: options.timeZone,
            currency: options.currency,
          });
          await writeAudit(tx, cliAudit(tenant.id), {
            action: 'tenant.created',
            subjectType: 'tenant',
            subjectId: tenant.id,
            after: { name: tenant.name },
          });
          console.log(`tenant ${tenant.id}`);
          if (options.adminKey) {
            const { key, row } = await createApiKey(tx, {
              tenantId: tenant.id,
              role: 'admin',
              name: 'created by CLI',
            });
            await writeAudit(tx, cliAudit(tenant.id), {
              action: 'api_key.created',
              subjectType: 'api_key',
              subjectId: row.id,
              after: { role: 'admin' },
            });
            console.log(`admin key ${key}  (shown once: store it now)`);
          }
        });
      }),
    );
  tenants
    .command('list')
    .description('list tenants')
    .action(() =>
      withRuntime(async ({ db }) => {
        const { listTenants } = await import('./tenant.repository.ts');
        for (const t of await listTenants(db))
          console.log(`${t.id}  ${t.status}  ${t.crm_kind}  ${t.time_zone}  ${t.name}`);
      }),
    );

  const keys = program.command('api-keys').description('create, list and revoke staff API keys');
  keys
    .command('create')
    .description('create an API key carrying a role; prints it once')
    .requiredOption('--tenant <id>', 'tenant id')
    .addOption(
      new Option('--role <role>', 'what the key may do')
        .choices(['admin', 'program_manager', 'sales_rep'])
        .makeOptionMandatory(),
    )
    .requiredOption('--name <name>', 'who or what uses the key')
    .action((options: { tenant: string; role: StaffRole; name: string }) =>
      withRuntime(async ({ db }) => {
        const { findTenant } = await import('./tenant.repository.ts');
        const { createApiKey } = await import('./api-key.service.ts');
        const { writeAudit } = await import('../audit/audit.repository.ts');
        if (!/^[0-9a-f-]{36}$/i.test(options.tenant) || !(await findTenant(db, options.tenant))) {
          throw new UsageError(`--tenant: no tenant ${options.tenant}`);
        }
        await db.transaction().execute(async (tx) => {
          const { key, row } = await createApiKey(tx, {
            tenantId: options.tenant,
            role: options.role,
            name: options.name,
          });
          await writeAudit(tx, cliAudit(options.tenant), {
            action: 'api_key.created',
            subjectType: 'api_key',
            subjectId: row.id,
            after: { role: row.role, name: row.name },
          });
          console.log(`api key ${row.id} (${row.role})`);
          console.log(`${key}  (shown once: store it now)`);
        });
      }),
    );
  keys
    .command('list')
    .description("list a tenant's API keys (never the keys themselves)")
    .requiredOption('--tenant <id>', 'tenant id')
    .action((options: { tenant: string }) =>
      withRuntime(async ({ db }) => {
        const { listApiKeys } = await import('./api-key.service.ts');
        if (!/^[0-9a-f-]{36}$/i.test(options.tenant)) throw new UsageError('--tenant must be a tenant id');
        for (const k of await listApiKeys(db, options.tenant)) {
          console.log(
            `${k.id}  ${k.key_prefix}…  ${k.role}  ${k.revoked_at ? 'revoked' : 'active'}  ${k.name}`,
          );
        }
      }),
    );
  keys
    .command('revoke')
    .description('revoke an API key at once')
    .requiredOption('--tenant <id>', 'tenant id')
    .argument('<key-id>', 'the id of the key (see `api-keys list`)')
    .action((keyId: string, options: { tenant: string }) =>
      withRuntime(async ({ db }) => {
        const { revokeApiKey } = await import('./api-key.service.ts');
        const { writeAudit } = await import('../audit/audit.repository.ts');
        if (!/^[0-9a-f-]{36}$/i.test(options.tenant) || !/^[0-9a-f-]{36}$/i.test(keyId)) {
          throw new UsageError('--tenant and <key-id> must be ids');
        }
        await db.transaction().execute(async (tx) => {
          const row = await revokeApiKey(tx, options.tenant, keyId);
          if (!row) throw new UsageError(`no API key ${keyId} in tenant ${options.tenant}`);
          await writeAudit(tx, cliAudit(options.tenant), {
            action: 'api_key.revoked',
            subjectType: 'api_key',
            subjectId: row.id,
          });
          console.log(`revoked ${row.id}`);
        });
      }),
    );
}
