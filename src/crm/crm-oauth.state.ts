import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CrmKind } from './crm-connector.ts';

/** Long enough to read the CRM's consent screen, short enough that a leaked URL soon stops working. */
export const STATE_TTL_MS = 15 * 60_000;

const mac = (key: Buffer, kind: CrmKind, payload: string) =>
  createHmac('sha256', key).update(`${kind}-oauth-state:v1.${payload}`).digest('base64url');

/**
 * The OAuth `state` of an install: a random nonce and an expiry, signed with LINK_SIGNING_KEY. It
 * needs no server-side session, so the callback may land on any replica; the CRM and purpose in the
 * MAC keep it from being confused with another CRM's state or any other signed value (partner links
 * use the same key). What must stay server-side (Salesforce's PKCE verifier) is stored under
 * `stateNonce(state)`.
 */
export function signState(key: Buffer, kind: CrmKind, nowMs: number): string {
  const payload = `${randomBytes(16).toString('base64url')}.${(nowMs + STATE_TTL_MS).toString(36)}`;
  return `${payload}.${mac(key, kind, payload)}`;
}

export type StateCheck = 'ok' | 'invalid' | 'expired';

export function checkState(key: Buffer, kind: CrmKind, state: string | undefined, nowMs: number): StateCheck {
  if (!state) return 'invalid';
  const parts = state.split('.');
  if (parts.length !== 3) return 'invalid';
  const [nonce, expiry, signature] = parts as [string, string, string];
  const expected = Buffer.from(mac(key, kind, `${nonce}.${expiry}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
  const expiresAt = Number.parseInt(expiry, 36);
  if (!Number.isFinite(expiresAt)) return 'invalid';
  return expiresAt < nowMs ? 'expired' : 'ok';
}

/** The random part of a state: the key of what an install keeps server-side until its callback. */
export const stateNonce = (state: string) => state.split('.')[0] as string;
