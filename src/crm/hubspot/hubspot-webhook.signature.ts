import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** HubSpot refuses nothing older; neither do we accept it (replays of captured requests). */
export const MAX_TIMESTAMP_AGE_MS = 300_000;

/**
 * HubSpot hashes the URI with these escapes decoded (and only these: `%20`, `%26`, … stay as sent),
 * so a URI our server sees as `%3A` must be hashed as `:`.
 */
const DECODED: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

export function decodeSignedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODED[m.toUpperCase()] ?? m);
}

export function signatureV3(secret: string, method: string, uri: string, body: Buffer, timestamp: string) {
  return createHmac('sha256', secret)
    .update(`${method}${decodeSignedUri(uri)}`)
    .update(body)
    .update(timestamp)
    .digest('base64');
}

export function signatureV2(secret: string, method: string, uri: string, body: Buffer): string {
  return createHash('sha256').update(`${secret}${method}${uri}`).update(body).digest('hex');
}

export function signatureV1(secret: string, body: Buffer): string {
  return createHash('sha256').update(secret).update(body).digest('hex');
}

export interface SignedRequest {
  method: string;
  /** The full URL as HubSpot called it: scheme, host, path and query. */
  uri: string;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export type SignatureCheck =
  | { ok: true; version: 'v1' | 'v2' | 'v3' }
  | { ok: false; reason: 'missing' | 'stale' | 'mismatch' };

const header = (headers: SignedRequest['headers'], name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Unequal lengths reveal only the length, which a valid signature has fixed anyway.
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks a webhook request's signature: v3 when its header is present (the one HubSpot sends to
 * project apps), v1/v2 only when `X-HubSpot-Signature-Version` says so.
 */
export function verifyHubspotSignature(
  secret: string,
  request: SignedRequest,
  nowMs: number,
): SignatureCheck {
  const v3 = header(request.headers, 'x-hubspot-signature-v3');
  if (v3 !== undefined) {
    const timestamp = header(request.headers, 'x-hubspot-request-timestamp');
    if (timestamp === undefined || !/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'missing' };
    if (Math.abs(nowMs - Number(timestamp)) > MAX_TIMESTAMP_AGE_MS) return { ok: false, reason: 'stale' };
    const expected = signatureV3(secret, request.method, request.uri, request.body, timestamp);
    return sameText(expected, v3) ? { ok: true, version: 'v3' } : { ok: false, reason: 'mismatch' };
  }
  const legacy = header(request.headers, 'x-hubspot-signature');
  const version = header(request.headers, 'x-hubspot-signature-version');
  if (legacy === undefined || (version !== 'v1' && version !== 'v2')) return { ok: false, reason: 'missing' };
  const expected =
    version === 'v1'
      ? signatureV1(secret, request.body)
      : signatureV2(secret, request.method, request.uri, request.body);
  return sameText(expected, legacy.toLowerCase()) ? { ok: true, version } : { ok: false, reason: 'mismatch' };
}
