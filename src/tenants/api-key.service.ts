import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';
import type { ApiKeyRow, StaffRole } from './tenant.table.ts';

const KEY_PREFIX = 'plk_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface CreatedApiKey {
  /** The only time the key is available: it is stored hashed. */
  key: string;
  row: ApiKeyRow;
}

export async function createApiKey(
  db: DbOrTx,
  input: { tenantId: string; role: StaffRole; name: string; createdBy?: string | null },
): Promise<CreatedApiKey> {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('api_keys')
    .values({
      tenant_id: input.tenantId,
      role: input.role,
      name: input.name,
      key_hash: hashApiKey(key),
      key_prefix: key.slice(0, KEY_PREFIX.length + 6),
      created_by: input.createdBy ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key, row };
}

/** The active key matching `key`, if any. Looked up by hash; the hash index makes it constant-time in effect. */
export async function findActiveApiKey(db: DbOrTx, key: string): Promise<ApiKeyRow | undefined> {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  return db
    .selectFrom('api_keys')
    .innerJoin('tenants', 'tenants.id', 'api_keys.tenant_id')
    .selectAll('api_keys')
    .where('api_keys.key_hash', '=', hashApiKey(key))
    .where('api_keys.revoked_at', 'is', null)
    .where('tenants.status', '<>', 'uninstalled')
    .executeTakeFirst();
}

export async function revokeApiKey(db: DbOrTx, tenantId: string, id: string): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function listApiKeys(db: DbOrTx, tenantId: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .execute();
}
