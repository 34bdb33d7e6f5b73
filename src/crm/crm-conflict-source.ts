import type { Db } from '../db/database.ts';
import { companyDomainOfEmail, registrableDomain } from '../registrations/domain-normalize.ts';
import type { ConflictSource } from '../registrations/registration-conflicts.ts';
import type { Services } from '../services.ts';
import { findConnection } from './crm-connection.repository.ts';
import { crmConnectorFor } from './crm-vendors.ts';

/** A registration waits this long for the CRM at most; past it the check goes on without it. */
export const CRM_CHECK_TIMEOUT_MS = 3_000;

export type CrmCheck = 'checked' | 'unavailable';

export interface OpenDealsAnswer {
  crmCheck: CrmCheck;
  deals: { dealId: string; ownerType: 'direct' | 'partner' }[];
}

/**
 * The CRM's open deals for a prospect, asked BEFORE the submit transaction: an HTTP call never
 * runs while the prospect's advisory locks (or any transaction) are held. `undefined` when the
 * tenant has no connected CRM; a CRM failure or timeout answers `unavailable` with no
 * deals, so a registration is never blocked by the CRM. Pass `conflictSourceOf(answer)` to
 * submitRegistration and record `answer.crmCheck` with the check.
 */
export async function askCrmForOpenDeals(
  db: Db,
  services: Services,
  tenantId: string,
  prospect: { domain: string | null; email: string | null },
  timeoutMs = CRM_CHECK_TIMEOUT_MS,
): Promise<OpenDealsAnswer | undefined> {
  if (!prospect.domain && !prospect.email) return undefined;
  const connection = await findConnection(db, tenantId);
  if (connection?.status !== 'connected') return undefined;
  // A person is waiting on the registration: the call may spend the last of an org's allowance.
  const connector = await crmConnectorFor(db, services, tenantId, { priority: 'interactive' });
  if (!connector) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([
      connector.checkOpenDeals(prospect.domain, prospect.email).catch(() => 'failed' as const),
      timedOut,
    ]);
    if (typeof result === 'string' || !result.ok) return { crmCheck: 'unavailable', deals: [] };
    return { crmCheck: 'checked', deals: result.value };
  } finally {
    clearTimeout(timer);
  }
}

/** The answer as the ConflictSource submitRegistration takes: no call of its own. */
export function conflictSourceOf(answer: OpenDealsAnswer): ConflictSource {
  return { findOpenDeals: async () => answer.deals };
}

/**
 * What a registration entry point adds to submitRegistration's context, asked before its
 * transaction: the CRM's open deals on the prospect's domain (from the website, else the contact's
 * company mailbox) or contact email, and whether the CRM could answer. Empty for tenants without a
 * connected CRM.
 */
export async function crmSubmitContext(
  db: Db,
  services: Services,
  tenantId: string,
  prospect: { website?: string | null; contactEmail?: string | null },
): Promise<{ conflictSource?: ConflictSource; crmCheck?: CrmCheck }> {
  const email = prospect.contactEmail?.trim().toLowerCase() || null;
  const domain = registrableDomain(prospect.website) ?? companyDomainOfEmail(email);
  const answer = await askCrmForOpenDeals(db, services, tenantId, { domain, email });
  return answer ? { conflictSource: conflictSourceOf(answer), crmCheck: answer.crmCheck } : {};
}
