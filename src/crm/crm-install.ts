import { writeAudit } from '../audit/audit.repository.ts';
import type { Db } from '../db/database.ts';
import type { Services } from '../services.ts';
import { createApiKey } from '../tenants/api-key.service.ts';
import { insertTenant } from '../tenants/tenant.repository.ts';
import type { TenantRow } from '../tenants/tenant.table.ts';
import { type TokenSet, upsertConnection } from './crm-connection.repository.ts';
import type { CrmConnector, CrmKind } from './crm-connector.ts';
import { syncStageMappings } from './stage-mapping.repository.ts';

export interface InstallInput {
  crmKind: CrmKind;
  /** HubSpot portal id, Salesforce org id: one tenant per account. */
  accountId: string;
  /** The new tenant's name (an existing tenant keeps its own). */
  accountName: string;
  tokens: TokenSet;
  /** Salesforce `instance_url`; null for HubSpot. */
  instanceUrl: string | null;
  scopes: string[];
  installedBy: string | null;
  requestId: string;
}

export interface Installed {
  tenant: TenantRow;
  created: boolean;
  reactivated: boolean;
  /** A new admin API key, shown once on the "connected" page: only when the tenant had no admin key. */
  adminKey: string | null;
}

const CRM_NAMES: Record<CrmKind, string> = { hubspot: 'HubSpot', salesforce: 'Salesforce' };

/**
 * Creates the tenant of a CRM account (HubSpot portal, Salesforce org), or reactivates it (a
 * reinstall after an uninstall or a refused refresh keeps everything the tenant had), and stores
 * the tokens sealed, in one transaction. The account is the key: one tenant per account, whichever
 * replica the callback hits.
 */
export async function installCrmAccount(db: Db, services: Services, input: InstallInput): Promise<Installed> {
  const { crmKind, accountId } = input;
  return db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom('tenants')
      .selectAll()
      .where('crm_kind', '=', crmKind)
      .where('crm_account_id', '=', accountId)
      .forUpdate()
      .executeTakeFirst();
    const tenant =
      existing ?? (await insertTenant(tx, { name: input.accountName, crmKind, crmAccountId: accountId }));
    const reactivated = existing !== undefined && existing.status !== 'active';
    const current = reactivated
      ? await tx
          .updateTable('tenants')
          .set({ status: 'active', updated_at: new Date() })
          .where('id', '=', tenant.id)
          .returningAll()
          .executeTakeFirstOrThrow()
      : tenant;
    await upsertConnection(tx, services.secrets.tokenEncryptionKey, {
      tenantId: tenant.id,
      crmKind,
      accountId,
      tokens: input.tokens,
      instanceUrl: input.instanceUrl,
      scopes: input.scopes,
      installedBy: input.installedBy,
    });
    const audit = {
      tenantId: tenant.id,
      actorType: 'system' as const,
      actorId: null,
      source: `${crmKind}.install`,
      requestId: input.requestId,
    };
    await writeAudit(tx, audit, {
      action: existing ? 'tenant.connected' : 'tenant.created',
      subjectType: 'tenant',
      subjectId: tenant.id,
      ...(existing ? { before: { status: existing.status } } : {}),
      after: { status: 'active', crm: crmKind, accountId, installedBy: input.installedBy },
    });

    const adminKeys = await tx
      .selectFrom('api_keys')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .where('role', '=', 'admin')
      .where('revoked_at', 'is', null)
      .limit(1)
      .execute();
    let adminKey: string | null = null;
    if (adminKeys.length === 0) {
      const created = await createApiKey(tx, {
        tenantId: tenant.id,
        role: 'admin',
        name: `${CRM_NAMES[crmKind]} install by ${input.installedBy ?? 'unknown user'}`,
        createdBy: `${crmKind}.install`,
      });
      adminKey = created.key;
      await writeAudit(tx, audit, {
        action: 'api_key.created',
        subjectType: 'api_key',
        subjectId: created.row.id,
        after: { role: 'admin' },
      });
    }
    return { tenant: current, created: existing === undefined, reactivated, adminKey };
  });
}

export interface SetupOutcome {
  propertiesCreated: string[] | null;
  /** Our deal fields the CRM lacks and we cannot create (Salesforce: deployed from crm-extensions/salesforce). */
  propertiesMissing: string[];
  stages: number | null;
  problems: string[];
}

/**
 * After the tokens are stored: our deal properties (created where the CRM lets us, reported where
 * it does not) and the stage mapping. Each step is safe to repeat; a failure is reported on the
 * page (the install itself stands, and a re-read of the pipelines or the next install repeats it).
 */
export async function setUpCrmAccount(
  db: Db,
  tenantId: string,
  connector: CrmConnector,
  log: { warn(details: object, message: string): void },
): Promise<SetupOutcome> {
  const name = CRM_NAMES[connector.kind];
  const outcome: SetupOutcome = {
    propertiesCreated: null,
    propertiesMissing: [],
    stages: null,
    problems: [],
  };
  const properties = await connector.ensureProperties();
  if (properties.ok) {
    outcome.propertiesCreated = properties.value.created;
    outcome.propertiesMissing = properties.value.missing;
  } else {
    log.warn({ tenantId, error: properties.error }, `${connector.kind} install: checking deal fields failed`);
    outcome.problems.push(`Our deal fields could not be checked in ${name} yet (${properties.error.kind}).`);
  }
  const pipelines = await connector.listPipelines();
  if (pipelines.ok) outcome.stages = await syncStageMappings(db, tenantId, pipelines.value);
  else {
    log.warn({ tenantId, error: pipelines.error }, `${connector.kind} install: reading stages failed`);
    outcome.problems.push(`The deal stages could not be read from ${name} yet (${pipelines.error.kind}).`);
  }
  return outcome;
}
