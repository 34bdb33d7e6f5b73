import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { writeContext } from './partner.http.ts';
import { Errors, ImportReport } from './partner.schemas.ts';
import { IMPORT_COLUMNS, importPartnersCsv } from './partner-import.ts';

const MAX_CSV_BYTES = 10 * 1024 * 1024;

/** POST /partners/import: a CSV body, answered with the per-row report. */
export const partnerImportRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  // Only this plugin reads text/csv; everywhere else the API stays JSON.
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: MAX_CSV_BYTES },
    (_request, body, done) => done(null, body),
  );

  app.post(
    '/partners/import',
    {
      preHandler: requireStaff(deps, ['admin', 'program_manager']),
      // Before validation, so a JSON body is told it is the wrong type rather than the wrong shape.
      preValidation: async (request) => {
        if (!/^text\/csv\b/i.test(request.headers['content-type'] ?? '')) {
          throw new AppError('unsupported_media_type', 'Send the file as "Content-Type: text/csv"');
        }
      },
      bodyLimit: MAX_CSV_BYTES,
      schema: {
        tags: ['partners'],
        summary: 'Create and update partners from a CSV file (admin, program manager)',
        description:
          `Columns (header row required, line 1): ${IMPORT_COLUMNS.join(', ')}; external_id, name and kind ` +
          'are required. Rows match existing partners on external_id; a row may name a parent defined ' +
          'further down. Bad rows are reported with their line and do not stop the good ones.',
        consumes: ['text/csv'],
        body: Type.String({ description: 'The CSV text' }),
        response: { 200: ImportReport, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const ctx = writeContext(deps, request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => ({
        status: 200,
        body: await importPartnersCsv(tx, ctx, request.body),
      }));
      return reply.status(status).send(body);
    },
  );
};
