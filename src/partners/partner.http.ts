import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../app.ts';
import { auditContext } from '../auth/authenticate.ts';
import { isUuid } from '../db/uuid.ts';
import { AppError } from '../errors/app-error.ts';
import { type Cursor, decodeCursor } from '../http/pagination.ts';
import type { WriteContext } from './partner.service.ts';

// What the partners feature's route files share.

/** decodeCursor, plus a check that the id could be one of ours: it is compared with a uuid column. */
export function partnerCursor(value: string | undefined): Cursor | undefined {
  const cursor = decodeCursor(value);
  if (cursor && !isUuid(cursor.id)) {
    throw new AppError('bad_request', 'The cursor is not one this API gave out', { field: 'query.cursor' });
  }
  return cursor;
}

/** Who is writing, from where, and the domain time of the write. */
export function writeContext(deps: AppDeps, request: FastifyRequest): WriteContext {
  return { audit: auditContext(request), now: deps.services.clock.now() };
}
