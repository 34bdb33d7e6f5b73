import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { Services } from '../services.ts';
import type { CrmConnector, CrmFailure, CrmResult } from './crm-connector.ts';
import { crmConnectorFor } from './crm-vendors.ts';

/**
 * The connector a CRM job writes through, or undefined when the tenant has nothing to write to:
 * no CRM, or disconnected/uninstalled (its CRM jobs then finish without work).
 */
export async function crmTarget(
  db: Db,
  services: Services,
  tenantId: string,
): Promise<CrmConnector | undefined> {
  const tenant = await db
    .selectFrom('tenants')
    .select(['status'])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  if (tenant?.status !== 'active') return undefined;
  return (await crmConnectorFor(db, services, tenantId)) ?? undefined;
}

/** A CRM failure worth another attempt of the job (the queue's backoff decides when). */
export class CrmRetryableError extends Error {
  constructor(readonly failure: CrmFailure) {
    super(`CRM ${failure.kind}: ${failure.message}`);
    this.name = 'CrmRetryableError';
  }
}

/**
 * The value, or undefined when the tenant is no longer connected (the job stops without work);
 * any other failure throws, so the job runs again with its backoff (a rate limit, the CRM down, a
 * refused token before the refresh marked the tenant disconnected).
 */
export function valueOrRetry<T>(result: CrmResult<T>, log: Logger, what: string): T | undefined {
  if (result.ok) return result.value;
  if (result.error.kind === 'not_connected') {
    log.info({ what }, 'crm: tenant not connected, nothing written');
    return undefined;
  }
  throw new CrmRetryableError(result.error);
}
