import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { requireStaff, staffActor } from '../auth/authenticate.ts';
import { PageQuery } from '../http/pagination.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
};

const Entry = Type.Object({
  id: Type.String(),
  actorType: Type.String(),
  actorId: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  subjectType: Type.String(),
  subjectId: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  source: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

/** The audit log: newest first, filtered by action, subject, actor and date. Admins and program managers. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/audit-log',
    {
      preHandler: requireStaff(deps, ['admin', 'program_manager']),
      schema: {
        tags: ['audit'],
        summary: 'List audit entries, newest first',
        querystring: Type.Object({
          ...PageQuery,
          action: Type.Optional(Type.String()),
          subjectType: Type.Optional(Type.String()),
          subjectId: Type.Optional(Type.String()),
          actorId: Type.Optional(Type.String()),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(Entry),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...Errors,
        },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const q = request.query;
      const limit = q.limit ?? 50;
      // The audit log is ordered by its identity column, so the cursor is simply the last id.
      const after = q.cursor !== undefined && /^\d+$/.test(q.cursor) ? BigInt(q.cursor) : undefined;
      let query = deps.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenantId);
      if (after !== undefined) query = query.where('id', '<', after);
      if (q.action) query = query.where('action', '=', q.action);
      if (q.subjectType) query = query.where('subject_type', '=', q.subjectType);
      if (q.subjectId) query = query.where('subject_id', '=', q.subjectId);
      if (q.actorId) query = query.where('actor_id', '=', q.actorId);
      if (q.from) query = query.where('created_at', '>=', sql<Date>`${q.from}::timestamptz`);
      if (q.to) query = query.where('created_at', '<', sql<Date>`${q.to}::timestamptz`);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      return {
        items: page.map((row) => ({
          id: String(row.id),
          actorType: row.actor_type,
          actorId: row.actor_id,
          action: row.action,
          subjectType: row.subject_type,
          subjectId: row.subject_id,
          before: row.before ?? null,
          after: row.after ?? null,
          source: row.source,
          ip: row.ip,
          requestId: row.request_id,
          createdAt: row.created_at.toISOString(),
        })),
        nextCursor: rows.length > limit ? String(page[page.length - 1]?.id) : null,
      };
    },
  );
};
