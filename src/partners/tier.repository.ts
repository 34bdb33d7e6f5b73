import type { DbOrTx } from '../db/database.ts';
import type { TierRow } from './partner.table.ts';

export async function insertTier(
  db: DbOrTx,
  tenantId: string,
  input: { name: string; rank?: number | undefined },
  now: Date,
): Promise<TierRow> {
  return db
    .insertInto('tiers')
    .values({ tenant_id: tenantId, name: input.name, rank: input.rank ?? 0, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTier(db: DbOrTx, tenantId: string, id: string): Promise<TierRow | undefined> {
  return db
    .selectFrom('tiers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** A tenant's tiers, best first. */
export async function listTiers(db: DbOrTx, tenantId: string): Promise<TierRow[]> {
  return db
    .selectFrom('tiers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('rank', 'desc')
    .orderBy('name')
    .execute();
}

export async function updateTier(
  db: DbOrTx,
  tenantId: string,
  id: string,
  changes: { name?: string | undefined; rank?: number | undefined },
): Promise<TierRow | undefined> {
  const set = {
    ...(changes.name !== undefined ? { name: changes.name } : {}),
    ...(changes.rank !== undefined ? { rank: changes.rank } : {}),
  };
  if (Object.keys(set).length === 0) return findTier(db, tenantId, id);
  return db
    .updateTable('tiers')
    .set(set)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}
