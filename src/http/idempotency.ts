import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { open, seal } from '../crypto/secret-box.ts';
import type { Db, Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';

export interface StoredResponse<T> {
  status: number;
  body: T;
}

const KEY = /^[A-Za-z0-9._:-]{1,200}$/;

/** How long a key is remembered; a prune job deletes older records. */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

export interface IdempotencyOptions {
  /**
   * The response carries a secret shown once (a new API key, a link token): it is stored encrypted
   * with TOKEN_ENCRYPTION_KEY, so a replay can still return it but the table never holds it readable.
   */
  sensitive?: { key: Buffer };
}

function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url ?? request.url}\n`)
    .update(JSON.stringify(request.params ?? {}))
    .update('\n')
    .update(JSON.stringify(request.body ?? null))
    .digest('hex');
}

/**
 * Runs a write in one transaction and, when the request carries an `Idempotency-Key`, stores its
 * response in that same transaction. A repeat with the same key and body gets the first response;
 * the same key with another body is a 422. A failed write stores nothing, so it can be retried.
 */
export async function idempotentWrite<T>(
  db: Db,
  request: FastifyRequest,
  tenantId: string,
  write: (tx: Tx) => Promise<StoredResponse<T>>,
  options: IdempotencyOptions = {},
): Promise<StoredResponse<T>> {
  const header = request.headers['idempotency-key'];
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined) return db.transaction().execute(write);
  if (!KEY.test(key)) {
    throw new AppError('bad_request', 'Idempotency-Key must be 1 to 200 letters, digits or ._:-');
  }
  const hash = requestHash(request);
  // Keys belong to the caller: another caller (another API key, another partner contact) with the
  // same key is a different request, never a replay of someone else's response.
  const actor = request.actor;
  const owner = actor
    ? actor.kind === 'staff'
      ? `key:${actor.apiKeyId}`
      : `contact:${actor.contactId}`
    : 'public';
  const scopedKey = `${owner}:${key}`;
  return db.transaction().execute(async (tx) => {
    // Two concurrent requests with one key: the second waits here, then finds the first's response.
    await sql`select pg_advisory_xact_lock(hashtextextended(${`${tenantId}:${scopedKey}`}, 0))`.execute(tx);
    const existing = await tx
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('key', '=', scopedKey)
      .where('created_at', '>', sql<Date>`now() - ${`${IDEMPOTENCY_WINDOW_HOURS} hours`}::interval`)
      .executeTakeFirst();
    if (existing) {
      if (existing.request_hash !== hash) {
        throw new AppError(
          'idempotency_key_reused',
          'This Idempotency-Key was used for a different request; use a new key for a new request',
        );
      }
      const stored = existing.response as { sealed?: string };
      const body =
        options.sensitive && typeof stored.sealed === 'string'
          ? (JSON.parse(
              open(options.sensitive.key, stored.sealed, `idempotency:${tenantId}:${scopedKey}`),
            ) as T)
          : (existing.response as T);
      return { status: existing.status_code, body };
    }
    const result = await write(tx);
    const json = JSON.stringify(result.body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    await tx
      .insertInto('idempotency_keys')
      .values({
        tenant_id: tenantId,
        key: scopedKey,
        method: request.method,
        path: request.url,
        request_hash: hash,
        status_code: result.status,
        response: options.sensitive
          ? JSON.stringify({
              sealed: seal(options.sensitive.key, json, `idempotency:${tenantId}:${scopedKey}`),
            })
          : json,
      })
      // A record past the window is forgotten: the key is used afresh, and its record replaced.
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'key']).doUpdateSet((eb) => ({
          method: eb.ref('excluded.method'),
          path: eb.ref('excluded.path'),
          request_hash: eb.ref('excluded.request_hash'),
          status_code: eb.ref('excluded.status_code'),
          response: eb.ref('excluded.response'),
          created_at: sql<Date>`now()`,
        })),
      )
      .execute();
    return result;
  });
}
