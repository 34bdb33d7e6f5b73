import type { DbOrTx } from '../db/database.ts';
import type { CrmKind, TenantRow } from './tenant.table.ts';

export interface NewTenant {
  name: string;
  timeZone?: string;
  currency?: string;
  crmKind?: CrmKind;
  crmAccountId?: string | null;
}

export async function insertTenant(db: DbOrTx, tenant: NewTenant): Promise<TenantRow> {
  return db
    .insertInto('tenants')
    .values({
      name: tenant.name,
      time_zone: tenant.timeZone ?? 'UTC',
      currency: tenant.currency ?? 'USD',
      crm_kind: tenant.crmKind ?? 'none',
      crm_account_id: tenant.crmAccountId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTenant(db: DbOrTx, id: string): Promise<TenantRow | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listTenants(db: DbOrTx): Promise<TenantRow[]> {
  return db.selectFrom('tenants').selectAll().orderBy('created_at').execute();
}

/** True when `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// Intl formats any well-formed three-letter code, so only its list of supported ones tells real ones apart.
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** True when `code` is an ISO 4217 currency code this runtime knows. */
export function isCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}
