import { describe, expect, it } from 'vitest';
import {
  decodeSignedUri,
  signatureV1,
  signatureV2,
  signatureV3,
  verifyHubspotSignature,
} from '../../../src/crm/hubspot/hubspot-webhook.signature.ts';

// The reference's test vectors (client secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy).
const SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const V1_BODY =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]';
const URI = 'https://www.example.com/webhook_uri';
const BODY = Buffer.from('{"example_field":"example_value"}');
const TS = 1_700_000_000_000;
const V3 = 'rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=';

const v3Request = (
  overrides: { uri?: string; body?: Buffer; signature?: string; timestamp?: number } = {},
) => ({
  method: 'POST',
  uri: overrides.uri ?? URI,
  body: overrides.body ?? BODY,
  headers: {
    'x-hubspot-signature-v3': overrides.signature ?? V3,
    'x-hubspot-request-timestamp': String(overrides.timestamp ?? TS),
  },
});

describe('HubSpot webhook signatures', () => {
  it('computes the reference vectors for v1, v2 and v3', () => {
    expect(signatureV1(SECRET, Buffer.from(V1_BODY))).toBe(
      '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de',
    );
    expect(signatureV2(SECRET, 'GET', URI, Buffer.alloc(0))).toBe(
      'eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e',
    );
    expect(signatureV2(SECRET, 'POST', URI, BODY)).toBe(
      '9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900',
    );
    expect(signatureV3(SECRET, 'POST', URI, BODY, String(TS))).toBe(V3);
  });

  it('accepts the v3 vector at its own timestamp and within five minutes of it', () => {
    expect(verifyHubspotSignature(SECRET, v3Request(), TS)).toEqual({ ok: true, version: 'v3' });
    expect(verifyHubspotSignature(SECRET, v3Request(), TS + 300_000)).toEqual({ ok: true, version: 'v3' });
  });

  it('refuses a timestamp 301 seconds old, even with a correct signature', () => {
    expect(verifyHubspotSignature(SECRET, v3Request(), TS + 301_000)).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses a signature made with another secret', () => {
    const forged = signatureV3('zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', 'POST', URI, BODY, String(TS));
    expect(verifyHubspotSignature(SECRET, v3Request({ signature: forged }), TS)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('refuses a body with one byte changed', () => {
    const body = Buffer.from(BODY);
    body[body.length - 3] = body[body.length - 3]! ^ 1;
    expect(verifyHubspotSignature(SECRET, v3Request({ body }), TS).ok).toBe(false);
  });

  it('hashes the raw bytes: the same JSON re-serialized with other spacing does not verify', () => {
    const respaced = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 1));
    expect(verifyHubspotSignature(SECRET, v3Request({ body: respaced }), TS).ok).toBe(false);
  });

  it('decodes exactly the escapes HubSpot decodes before hashing, and no others', () => {
    expect(decodeSignedUri('https://x.test/h?a=%3A%2F%3F%40%21%24%27%28%29%2A%2C%3B')).toBe(
      "https://x.test/h?a=:/?@!$'()*,;",
    );
    expect(decodeSignedUri('https://x.test/h?a=%3a')).toBe('https://x.test/h?a=:');
    expect(decodeSignedUri('https://x.test/h?q=a%20b%26c')).toBe('https://x.test/h?q=a%20b%26c');
  });

  it('verifies a URI our server sees percent-encoded when HubSpot signed it decoded', () => {
    const signed = 'https://www.example.com/webhook_uri?portal=a:b';
    const signature = signatureV3(SECRET, 'POST', signed, BODY, String(TS));
    const seen = 'https://www.example.com/webhook_uri?portal=a%3Ab';
    expect(verifyHubspotSignature(SECRET, v3Request({ uri: seen, signature }), TS).ok).toBe(true);
  });

  it('refuses a re-encoded URI (an escape HubSpot does not decode changes what is hashed)', () => {
    const signed = 'https://www.example.com/webhook_uri?name=a b';
    const signature = signatureV3(SECRET, 'POST', signed.replace(' ', '%20'), BODY, String(TS));
    expect(
      verifyHubspotSignature(SECRET, v3Request({ uri: signed.replace(' ', '%20'), signature }), TS).ok,
    ).toBe(true);
    // The same URL with its path re-encoded (%5F for "_") is another string to HubSpot: refused.
    const reencoded = 'https://www.example.com/webhook%5Furi?name=a%20b';
    expect(verifyHubspotSignature(SECRET, v3Request({ uri: reencoded, signature }), TS)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('accepts v1 and v2 only when X-HubSpot-Signature-Version says so', () => {
    const v1 = '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de';
    const legacy = (version?: string) => ({
      method: 'POST',
      uri: URI,
      body: Buffer.from(V1_BODY),
      headers: { 'x-hubspot-signature': v1, ...(version ? { 'x-hubspot-signature-version': version } : {}) },
    });
    expect(verifyHubspotSignature(SECRET, legacy('v1'), Date.now())).toEqual({ ok: true, version: 'v1' });
    expect(verifyHubspotSignature(SECRET, legacy(), Date.now())).toEqual({ ok: false, reason: 'missing' });
    expect(verifyHubspotSignature(SECRET, legacy('v2'), Date.now())).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    const v2 = {
      method: 'POST',
      uri: URI,
      body: BODY,
      headers: {
        'x-hubspot-signature': '9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900',
        'x-hubspot-signature-version': 'v2',
      },
    };
    expect(verifyHubspotSignature(SECRET, v2, Date.now())).toEqual({ ok: true, version: 'v2' });
  });

  it('refuses a request without any signature header', () => {
    expect(verifyHubspotSignature(SECRET, { method: 'POST', uri: URI, body: BODY, headers: {} }, TS)).toEqual(
      {
        ok: false,
        reason: 'missing',
      },
    );
  });
});
