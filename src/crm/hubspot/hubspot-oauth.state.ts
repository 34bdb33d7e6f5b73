import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Long enough to read HubSpot's consent screen, short enough that a leaked URL soon stops working. */
export const STATE_TTL_MS = 15 * 60_000;

const PURPOSE = 'hubspot-oauth-state:v1';

const mac = (key: Buffer, payload: string) =>
  createHmac('sha256', key).update(`${PURPOSE}.${payload}`).digest('base64url');

/**
 * The OAuth `state`: a random nonce and an expiry, signed with LINK_SIGNING_KEY. It needs no
 * server-side session, so the callback may land on any replica; the purpose in the MAC keeps it
 * from being confused with any other signed value (partner links use the same key).
 */
export function signState(key: Buffer, nowMs: number): string {
  const payload = `${randomBytes(12).toString('base64url')}.${(nowMs + STATE_TTL_MS).toString(36)}`;
  return `${payload}.${mac(key, payload)}`;
}

export type StateCheck = 'ok' | 'invalid' | 'expired';

export function checkState(key: Buffer, state: string | undefined, nowMs: number): StateCheck {
  if (!state) return 'invalid';
  const parts = state.split('.');
  if (parts.length !== 3) return 'invalid';
  const [nonce, expiry, signature] = parts as [string, string, string];
  const expected = Buffer.from(mac(key, `${nonce}.${expiry}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
  const expiresAt = Number.parseInt(expiry, 36);
  if (!Number.isFinite(expiresAt)) return 'invalid';
  return expiresAt < nowMs ? 'expired' : 'ok';
}
