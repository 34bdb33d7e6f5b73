import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/database.ts';
import type {
  PartnerContactRow,
  PartnerKind,
  PartnerRow,
  PartnerStatus,
  TierRow,
} from '../../src/partners/partner.table.ts';

const suffix = () => randomBytes(3).toString('hex');

export async function makeTier(db: Db, tenantId: string, name: string, rank = 0): Promise<TierRow> {
  return db
    .insertInto('tiers')
    .values({ tenant_id: tenantId, name, rank })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function makePartner(
  db: Db,
  tenantId: string,
  overrides: {
    name?: string;
    kind?: PartnerKind;
    status?: PartnerStatus;
    parentId?: string | null;
    tierId?: string | null;
  } = {},
): Promise<PartnerRow> {
  return db
    .insertInto('partners')
    .values({
      tenant_id: tenantId,
      name: overrides.name ?? `Partner ${suffix()}`,
      kind: overrides.kind ?? 'referral',
      status: overrides.status ?? 'active',
      parent_id: overrides.parentId ?? null,
      tier_id: overrides.tierId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function makeContact(
  db: Db,
  tenantId: string,
  partnerId: string,
  overrides: { name?: string; email?: string } = {},
): Promise<PartnerContactRow> {
  const tag = suffix();
  return db
    .insertInto('partner_contacts')
    .values({
      tenant_id: tenantId,
      partner_id: partnerId,
      name: overrides.name ?? `Contact ${tag}`,
      email: (overrides.email ?? `contact-${tag}@partner.example`).toLowerCase(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}
