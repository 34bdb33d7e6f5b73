import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { open, seal } from '../crypto/secret-box.ts';
import type { DbOrTx } from '../db/database.ts';
import type { ReplyTokenRow } from './messaging.table.ts';

export type { ReplyTokenRow } from './messaging.table.ts';

/** How long a reply address keeps working after it was issued. */
export const REPLY_TOKEN_TTL_DAYS = 180;
/** 26 characters of a-z2-7: 130 bits, case-insensitive (MTAs fold case), well under 64 chars. */
export const REPLY_TOKEN_PATTERN = /^[a-z2-7]{26}$/;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 130 random bits as 26 lower-case base32 characters. */
export function generateReplyToken(): string {
  const bytes = randomBytes(17);
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += BASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export function hashReplyToken(token: string): string {
  return createHash('sha256').update(token.toLowerCase()).digest('hex');
}

export interface IssueReplyTokenInput {
  tenantId: string;
  contactId: string;
  partnerId: string;
  registrationId: string | null;
  dealId?: string | null;
  /** The notification thread: `registration`, `deal`, `digest`, `payouts`, `rep-message`, … */
  thread: string;
  /**
   * The token encryption key (`services.secrets.tokenEncryptionKey`). With it the token is kept sealed
   * and the same live token is returned for the same recipient, subject and thread; without it each
   * call issues a fresh token (the earlier ones stay valid until they expire).
   */
  key?: Buffer;
  now?: Date;
  ttlDays?: number;
}

const sealContext = (tokenHash: string) => `reply-token:${tokenHash}`;

/**
 * The reply token for one recipient contact × registration (or deal) × notification thread: the
 * existing live one when it can be read back, else a new one. Tokens are stored only as a SHA-256
 * hash (plus, with a key, sealed with AES-256-GCM).
 */
export async function issueReplyToken(trx: DbOrTx, input: IssueReplyTokenInput): Promise<string> {
  const now = input.now ?? new Date();
  if (input.key) {
    let query = trx
      .selectFrom('reply_tokens')
      .select(['token_hash', 'token_sealed'])
      .where('tenant_id', '=', input.tenantId)
      .where('contact_id', '=', input.contactId)
      .where('thread', '=', input.thread)
      .where('revoked_at', 'is', null)
      .where('token_sealed', 'is not', null)
      // A token about to expire is not handed out again: the email it goes into may be read late.
      .where('expires_at', '>', new Date(now.getTime() + 30 * 86_400_000));
    query = input.registrationId
      ? query.where('registration_id', '=', input.registrationId)
      : query.where('registration_id', 'is', null);
    query = input.dealId ? query.where('deal_id', '=', input.dealId) : query.where('deal_id', 'is', null);
    const existing = await query.orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (existing?.token_sealed) {
      try {
        return open(input.key, existing.token_sealed, sealContext(existing.token_hash));
      } catch {
        // Sealed under another key (rotated): issue a new token below.
      }
    }
  }
  const token = generateReplyToken();
  const tokenHash = hashReplyToken(token);
  await trx
    .insertInto('reply_tokens')
    .values({
      tenant_id: input.tenantId,
      token_hash: tokenHash,
      token_sealed: input.key ? seal(input.key, token, sealContext(tokenHash)) : null,
      contact_id: input.contactId,
      partner_id: input.partnerId,
      registration_id: input.registrationId,
      deal_id: input.dealId ?? null,
      thread: input.thread,
      expires_at: new Date(now.getTime() + (input.ttlDays ?? REPLY_TOKEN_TTL_DAYS) * 86_400_000),
    })
    .execute();
  return token;
}

export type ReplyTokenStatus = 'valid' | 'expired' | 'revoked' | 'unknown';

/** What a token found in an inbound message stands for. Malformed input is `unknown`, without a query. */
export async function resolveReplyToken(
  db: DbOrTx,
  token: string,
  now: Date = new Date(),
): Promise<{ status: ReplyTokenStatus; token?: ReplyTokenRow }> {
  const normalized = token.trim().toLowerCase();
  if (!REPLY_TOKEN_PATTERN.test(normalized)) return { status: 'unknown' };
  const row = await db
    .selectFrom('reply_tokens')
    .selectAll()
    .where('token_hash', '=', hashReplyToken(normalized))
    .executeTakeFirst();
  if (!row) return { status: 'unknown' };
  if (row.revoked_at !== null) return { status: 'revoked', token: row };
  if (row.expires_at.getTime() <= now.getTime()) return { status: 'expired', token: row };
  return { status: 'valid', token: row };
}

/** Revokes a token, given as the token itself or its row id. Returns whether a live token was revoked. */
export async function revokeReplyToken(db: DbOrTx, tokenOrId: string): Promise<boolean> {
  const value = tokenOrId.trim().toLowerCase();
  const byToken = REPLY_TOKEN_PATTERN.test(value);
  if (!byToken && !/^[0-9a-f-]{36}$/.test(value)) return false;
  const result = await db
    .updateTable('reply_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where(byToken ? 'token_hash' : 'id', '=', byToken ? hashReplyToken(value) : value)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return (result.numUpdatedRows ?? 0n) > 0n;
}
