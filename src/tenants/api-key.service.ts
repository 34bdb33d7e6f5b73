import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';
import type { ApiKeyRow, CrmKind, StaffRole } from './tenant.table.ts';

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

/**
 * How long a verified key is trusted without asking the database again (every staff request would
 * otherwise pay a round trip for it). A key revoked through this process is refused at once; one
 * revoked elsewhere (another replica, the CLI), or whose tenant was uninstalled, within this bound.
 */
export const API_KEY_TRUST_MS = 2_000;
/** Past this many keys trusted at once, the oldest are forgotten (each is simply asked again). */
const MAX_TRUSTED_KEYS = 10_000;
const trusted = new Map<string, { row: VerifiedApiKey; until: number }>();

/** An active key, with its tenant's CRM ('none' for a tenant without one), read in the same lookup. */
export type VerifiedApiKey = ApiKeyRow & { tenant_crm_kind: CrmKind };

/**
 * The active key matching `key`, if any: from the keys verified in the last API_KEY_TRUST_MS, else
 * looked up by hash (the hash index makes it constant-time in effect). Unknown keys are not remembered.
 */
export async function verifyApiKey(db: DbOrTx, key: string): Promise<VerifiedApiKey | undefined> {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const hash = hashApiKey(key);
  // Monotonic, and not the service clock: tests move that one, and trust must still run out.
  const now = performance.now();
  const hit = trusted.get(hash);
  if (hit && hit.until > now) return hit.row;
  trusted.delete(hash);
  const row = await db
    .selectFrom('api_keys')
    .innerJoin('tenants', 'tenants.id', 'api_keys.tenant_id')
    .selectAll('api_keys')
    .select('tenants.crm_kind as tenant_crm_kind')
    .where('api_keys.key_hash', '=', hash)
    .where('api_keys.revoked_at', 'is', null)
    .where('tenants.status', '<>', 'uninstalled')
    .executeTakeFirst();
  if (row) {
    if (trusted.size >= MAX_TRUSTED_KEYS) trusted.delete(trusted.keys().next().value as string);
    trusted.set(hash, { row, until: now + API_KEY_TRUST_MS });
  }
  return row;
}

/** Revokes a key; this process stops trusting it at once (others within API_KEY_TRUST_MS). */
export async function revokeApiKey(db: DbOrTx, tenantId: string, id: string): Promise<ApiKeyRow | undefined> {
  const row = await db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  for (const [hash, entry] of trusted) if (entry.row.id === id) trusted.delete(hash);
  return row;
}

export async function listApiKeys(db: DbOrTx, tenantId: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .execute();
}
