import { createHash } from 'node:crypto';

/**
 * Where a reply token travels, so a reply finds its thread even when a relay strips the `+` part:
 * the Reply-To address, the Message-ID and the fallback id first in References, and a subject tag.
 * Pure functions; lookups are in `reply-tokens.ts`.
 */

const TOKEN = '[a-z2-7]{26}';
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function replyAddress(token: string, domain: string): string {
  return `reply+${token}@${domain}`;
}

/** The token in `reply+<token>@domain` or `reply<token>@domain` (plus stripped), any case; else null. */
export function tokenFromAddress(address: string, domain: string): string | null {
  const bare = address.trim().replace(/^.*<([^>]*)>.*$/s, '$1');
  const match = new RegExp(`^reply\\+?(${TOKEN})@${escapeRegExp(domain)}$`, 'i').exec(bare);
  return match?.[1] ? match[1].toLowerCase() : null;
}

/**
 * `<m.<hash of the idempotency key>.<token>@domain>`: deterministic for one email (a resend carries
 * the same id, so mailbox providers collapse a duplicate), and carrying the token for clients that
 * reply without our Reply-To.
 */
export function messageIdFor(idempotencyKey: string, token: string, domain: string): string {
  const digest = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24);
  return `<m.${digest}.${token}@${domain}>`;
}

/** The fallback id GitLab-style: put FIRST in References, for servers without sub-addressing. */
export function fallbackMessageId(token: string, domain: string): string {
  return `<reply-${token}@${domain}>`;
}

/** The token in one of our Message-IDs (`messageIdFor` or the `reply-<token>@` fallback); else null. */
export function tokenFromMessageId(id: string): string | null {
  const bare = id.trim().replace(/^<|>$/g, '');
  const match = new RegExp(`^(?:m\\.[0-9a-f]{24}\\.|reply-)(${TOKEN})@[^@\\s]+$`, 'i').exec(bare);
  return match?.[1] ? match[1].toLowerCase() : null;
}

/** `[ref:<token>]`, appended to subjects: the last resort when every header was lost. */
export function subjectTag(token: string): string {
  return `[ref:${token}]`;
}

export function tokenFromSubject(subject: string): string | null {
  const match = new RegExp(`\\[ref:(${TOKEN})\\]`, 'i').exec(subject);
  return match?.[1] ? match[1].toLowerCase() : null;
}
