import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, codeForStatus, type ErrorCode, errorBody } from '../errors/app-error.ts';

interface FieldProblem {
  field: string;
  message: string;
}

const FASTIFY_CODES: Record<string, { code: ErrorCode; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_json', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'invalid_json',
    message: 'The request body is empty but JSON was announced',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large' },
};

/** Every error leaves in one shape: `{ "error": { "code", "message", "details"? } }`. */
// Takes an app with any type provider.
export function installErrorHandling(app: FastifyInstance<any, any, any, any, any>): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) {
      if (error.status >= 500) request.log.error({ err: error }, error.message);
      return reply.status(error.status).send(errorBody(error.code, error.message, error.details));
    }
    if (error.validation) {
      const context = error.validationContext ?? 'request';
      const fields: FieldProblem[] = error.validation.map((issue) => {
        const params = issue.params as { missingProperty?: string; additionalProperty?: string } | undefined;
        const pointer = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
        const leaf = params?.missingProperty ?? params?.additionalProperty;
        const field = [context, pointer, leaf].filter(Boolean).join('.');
        return { field, message: issue.message ?? 'is invalid' };
      });
      const summary = fields.map((f) => `${f.field} ${f.message}`).join('; ');
      return reply
        .status(400)
        .send(errorBody('validation_failed', `Invalid ${context}: ${summary}`, { fields }));
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      // Never leak internals: the request id lets an operator find the log line.
      return reply
        .status(500)
        .send(errorBody('internal_error', `Something went wrong on our side (request ${request.id}).`));
    }
    const code = known?.code ?? codeForStatus(status);
    return reply.status(status).send(errorBody(code, known?.message ?? error.message));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody('not_found', `No route ${request.method} ${request.url.split('?')[0]}`));
  });
}
