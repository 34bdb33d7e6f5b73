import { writeAudit } from '../../audit/audit.repository.ts';
import type { Db } from '../../db/database.ts';
import type { Services } from '../../services.ts';
import { createApiKey } from '../../tenants/api-key.service.ts';
import { insertTenant } from '../../tenants/tenant.repository.ts';
import type { TenantRow } from '../../tenants/tenant.table.ts';
import { upsertConnection } from '../crm-connection.repository.ts';
import type { CrmConnector } from '../crm-connector.ts';
import { syncStageMappings } from '../stage-mapping.repository.ts';
import type { HubspotTokenInfo } from './hubspot-oauth.auth.ts';

export interface InstallInput {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  info: HubspotTokenInfo;
  requestId: string;
}

export interface Installed {
  tenant: TenantRow;
  created: boolean;
  reactivated: boolean;
  /** A new admin API key, shown once on the "connected" page: only when the tenant had no admin key. */
  adminKey: string | null;
}

/**
 * Creates the tenant of a HubSpot portal, or reactivates it (a reinstall after an uninstall or a
 * refused refresh keeps everything the tenant had), and stores the tokens sealed, in one
 * transaction. The portal is the key: one tenant per portal, whichever replica the callback hits.
 */
export async function installHubspotPortal(
  db: Db,
  services: Services,
  input: InstallInput,
): Promise<Installed> {
  const portalId = input.info.hubId;
  return db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom('tenants')
      .selectAll()
      .where('crm_kind', '=', 'hubspot')
      .where('crm_account_id', '=', portalId)
      .forUpdate()
      .executeTakeFirst();
    const tenant =
      existing ??
      (await insertTenant(tx, {
        name: input.info.hubDomain ?? `HubSpot portal ${portalId}`,
        crmKind: 'hubspot',
        crmAccountId: portalId,
      }));
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
      crmKind: 'hubspot',
      accountId: portalId,
      tokens: {
        accessToken: input.accessToken,
        refreshToken: input.refreshToken,
        expiresAt: input.expiresAt,
      },
      scopes: input.info.scopes,
      installedBy: input.info.user,
    });
    const audit = {
      tenantId: tenant.id,
      actorType: 'system' as const,
      actorId: null,
      source: 'hubspot.install',
      requestId: input.requestId,
    };
    await writeAudit(tx, audit, {
      action: existing ? 'tenant.connected' : 'tenant.created',
      subjectType: 'tenant',
      subjectId: tenant.id,
      ...(existing ? { before: { status: existing.status } } : {}),
      after: { status: 'active', crm: 'hubspot', portalId, installedBy: input.info.user },
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
        name: `HubSpot install by ${input.info.user ?? 'unknown user'}`,
        createdBy: 'hubspot.install',
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
  stages: number | null;
  problems: string[];
}

/**
 * After the tokens are stored: our deal properties and the stage mapping. Each step is safe to
 * repeat; a failure is reported on the page (the install itself stands, and a re-read of the
 * pipelines or the next install repeats the step).
 */
export async function setUpHubspotPortal(
  db: Db,
  tenantId: string,
  connector: CrmConnector,
  log: { warn(details: object, message: string): void },
): Promise<SetupOutcome> {
  const outcome: SetupOutcome = { propertiesCreated: null, stages: null, problems: [] };
  const properties = await connector.ensureProperties();
  if (properties.ok) outcome.propertiesCreated = properties.value.created;
  else {
    log.warn({ tenantId, error: properties.error }, 'hubspot install: ensuring deal properties failed');
    outcome.problems.push(`Our deal properties could not be created yet (${properties.error.kind}).`);
  }
  const pipelines = await connector.listPipelines();
  if (pipelines.ok) outcome.stages = await syncStageMappings(db, tenantId, pipelines.value);
  else {
    log.warn({ tenantId, error: pipelines.error }, 'hubspot install: reading pipelines failed');
    outcome.problems.push(`The deal pipelines could not be read yet (${pipelines.error.kind}).`);
  }
  return outcome;
}
