/*
 * PostgreSQL's text and jsonb cannot hold the NUL character (U+0000): a value carrying one fails its
 * write. What a request sends is refused (http/nul-guard.ts); what another system sends (a CRM's
 * webhook, deal or change event, an email) is kept, with each NUL replaced by U+FFFD.
 */

const NUL = '\u0000';
const REPLACEMENT = '\ufffd';

/** Plain data only: JSON objects, and the query parser's objects (whose prototype's is null). */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/**
 * The path of the first string (or key) holding a NUL character, as `body.changes.name`, or
 * undefined. Walks plain objects and arrays only: a Buffer, a Date or a stream is not text.
 */
export function nulCharacterAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes(NUL) ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulCharacterAt(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object' && isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes(NUL)) return `${path}.${key.replaceAll(NUL, '\\u0000')}`;
      const found = nulCharacterAt(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

function replaced(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll(NUL, REPLACEMENT);
  if (Array.isArray(value)) return value.map(replaced);
  if (value !== null && typeof value === 'object' && isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key.replaceAll(NUL, REPLACEMENT)] = replaced(item);
    return copy;
  }
  return value;
}

/**
 * The value with every NUL character of its strings and keys replaced by U+FFFD, so it can be
 * stored; the value itself (no copy) when it holds none.
 */
export function withoutNul<T>(value: T): T {
  return nulCharacterAt(value, '') === undefined ? value : (replaced(value) as T);
}
