import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Encryption at rest for secrets we must be able to read back (OAuth tokens, a response that carries
 * a key shown once): AES-256-GCM with TOKEN_ENCRYPTION_KEY, a random 96-bit nonce per value, and an
 * optional context bound as additional data so a value cannot be moved to another row or purpose.
 * Format: `v1.<nonce>.<ciphertext>.<tag>`, base64url parts.
 */
export function seal(key: Buffer, plaintext: string, context = ''): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', nonce, body, cipher.getAuthTag()]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

export function open(key: Buffer, sealed: string, context = ''): string {
  const [version, nonce, body, tag] = sealed.split('.');
  if (version !== 'v1' || nonce === undefined || body === undefined || tag === undefined) {
    throw new Error('not a sealed value');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
