import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** HubSpot's error categories, as its error JSON carries them. */
export type ErrorCategory =
  | 'VALIDATION_ERROR'
  | 'OBJECT_NOT_FOUND'
  | 'OBJECT_ALREADY_EXISTS'
  | 'CONFLICT'
  | 'INVALID_AUTHENTICATION'
  | 'EXPIRED_AUTHENTICATION'
  | 'MISSING_SCOPES'
  | 'RATE_LIMITS';

/** Sends HubSpot's error body: `{ status: "error", message, correlationId, category, … }`. */
export function sendError(
  reply: FastifyReply,
  statusCode: number,
  category: ErrorCategory,
  message: string,
  extra: Record<string, unknown> = {},
) {
  return reply.code(statusCode).send({
    status: 'error',
    message,
    correlationId: randomUUID(),
    category,
    ...extra,
  });
}

/** One entry of a batch response's `errors` (207 Multi-Status). */
export function batchError(category: ErrorCategory, message: string, context: Record<string, string[]>) {
  return { status: 'error', category, message, context };
}
