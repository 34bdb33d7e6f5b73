import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/database.ts';
import { createApiKey } from '../../src/tenants/api-key.service.ts';
import { insertTenant, type NewTenant } from '../../src/tenants/tenant.repository.ts';
import type { StaffRole, TenantRow } from '../../src/tenants/tenant.table.ts';

export interface TenantWithKeys {
  tenant: TenantRow;
  /** One API key per staff role. */
  keys: Record<StaffRole, string>;
  /** `{ authorization: 'Bearer …' }` for a role, for app.inject. */
  as(role: StaffRole): { authorization: string };
}

/** A tenant with an admin, a program manager and a sales rep key. */
export async function makeTenant(db: Db, overrides: Partial<NewTenant> = {}): Promise<TenantWithKeys> {
  const tenant = await insertTenant(db, { name: `Tenant ${randomBytes(3).toString('hex')}`, ...overrides });
  const keys = {} as Record<StaffRole, string>;
  for (const role of ['admin', 'program_manager', 'sales_rep'] as const) {
    keys[role] = (await createApiKey(db, { tenantId: tenant.id, role, name: `${role} key` })).key;
  }
  return { tenant, keys, as: (role) => ({ authorization: `Bearer ${keys[role]}` }) };
}
