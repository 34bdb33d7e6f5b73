import type { FastifyInstance } from 'fastify';
import { nulCharacterAt } from '../db/nul-characters.ts';
import { AppError } from '../errors/app-error.ts';

/**
 * Refuses, before validation, a request whose path parameters, query or body hold the NUL
 * character: PostgreSQL's text and jsonb cannot store it, so it would otherwise fail deep in a write
 * as a 500. A clear 400 naming the field instead, and nothing written.
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
