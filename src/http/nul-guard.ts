import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.ts';

/**
 * The path of the first string holding a NUL character (U+0000) in a parsed body or query, as
 * `body.changes.name`, or undefined. Walks plain objects and arrays only: a body kept as a Buffer
 * (a webhook checked over its raw bytes) or a stream is left to its route.
 */
export function nulCharacterAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulCharacterAt(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    // Plain data only: JSON objects, and the query parser's objects (whose prototype's is null).
    const proto = Object.getPrototypeOf(value);
    if (proto !== null && proto !== Object.prototype && Object.getPrototypeOf(proto) !== null)
      return undefined;
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) return `${path}.${key.replaceAll('\u0000', '\\u0000')}`;
      const found = nulCharacterAt(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Refuses, before validation, a request whose path parameters, query or body hold the NUL character: PostgreSQL's
 * text and jsonb cannot store it, so it would otherwise fail deep in a write as a 500. A clear 400
 * naming the field instead, and nothing written.
 */
export function installNulGuard(app: FastifyInstance<any, any, any, any, any>): void {
  app.addHook('preValidation', async (request) => {
    const field =
      nulCharacterAt(request.params, 'params') ??
      nulCharacterAt(request.query, 'querystring') ??
      nulCharacterAt(request.body, 'body');
    if (field)
      throw new AppError(
        'validation_failed',
        `Invalid request: ${field} must not contain the NUL character`,
        {
          fields: [{ field, message: 'must not contain the NUL character' }],
        },
      );
  });
}
