import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { type Branding, brandingOf, brandingProblems, loadBranding } from './branding.ts';
import { notificationEmailOf } from './notify-note-owner.job.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const BrandingView = Type.Object({
  name: Type.String(),
  logoUrl: Type.Union([Type.String(), Type.Null()]),
  color: Type.String(),
  senderName: Type.String(),
});

const NotificationsView = Type.Object({
  /** Where staff hear about partner replies when the deal mirror names no owner address. */
  notificationEmail: Type.Union([Type.String(), Type.Null()]),
});

/** The look of the tenant's partner emails: anyone on staff reads it, admins change it. */
export const brandingRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const admin = requireStaff(deps, ['admin']);
  const anyStaff = requireStaff(deps, ['admin', 'program_manager', 'sales_rep']);

  app.get(
    '/tenant/branding',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['tenant'],
        summary: "The branding of the tenant's partner emails (defaults filled in)",
        response: { 200: BrandingView, ...Errors },
      },
    },
    async (request) => {
      const branding = await loadBranding(deps.db, staffActor(request).tenantId);
      if (!branding) throw new AppError('not_found', 'Tenant not found');
      return branding;
    },
  );

  app.patch(
    '/tenant/branding',
    {
      preHandler: admin,
      schema: {
        tags: ['tenant'],
        summary: "Change the branding of the tenant's partner emails (admin); null resets a field",
        body: Type.Object(
          {
            name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
            logoUrl: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
            color: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            senderName: Type.Optional(
              Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()]),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: BrandingView, ...Errors },
      },
    },
    async (request) => {
      const actor = staffActor(request);
      // null (or "", which the schema's type coercion makes of null) resets a field to its default.
      const changes = Object.entries(request.body).map(
        ([key, value]) => [key, value === '' ? null : value] as const,
      );
      const set: Partial<Branding> = {};
      for (const [key, value] of changes) {
        if (value !== null && value !== undefined) (set as Record<string, unknown>)[key] = value;
      }
      const fields = brandingProblems(set);
      if (fields.length) throw new AppError('validation_failed', 'Invalid body', { fields });
      const { body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const tenant = await tx
          .selectFrom('tenants')
          .select(['name', 'settings'])
          .where('id', '=', actor.tenantId)
          .forUpdate()
          .executeTakeFirst();
        if (!tenant) throw new AppError('not_found', 'Tenant not found');
        const stored = { ...((tenant.settings.branding ?? {}) as Record<string, unknown>) };
        for (const [key, value] of changes) {
          if (value === null || value === undefined) delete stored[key];
          else stored[key] = value;
        }
        const settings = { ...tenant.settings, branding: stored };
        await tx
          .updateTable('tenants')
          .set({ settings: JSON.stringify(settings), updated_at: deps.services.clock.now() })
          .where('id', '=', actor.tenantId)
          .execute();
        const before = brandingOf(tenant);
        const after = brandingOf({ name: tenant.name, settings });
        await writeAudit(tx, auditContext(request), {
          action: 'tenant.branding_updated',
          subjectType: 'tenant',
          subjectId: actor.tenantId,
          before,
          after,
        });
        return { status: 200, body: after };
      });
      return body;
    },
  );

  app.get(
    '/tenant/notifications',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['tenant'],
        summary: 'Where staff notifications (partner replies by email) go',
        response: { 200: NotificationsView, ...Errors },
      },
    },
    async (request) => {
      const tenant = await deps.db
        .selectFrom('tenants')
        .select('settings')
        .where('id', '=', staffActor(request).tenantId)
        .executeTakeFirst();
      if (!tenant) throw new AppError('not_found', 'Tenant not found');
      return { notificationEmail: notificationEmailOf(tenant.settings) };
    },
  );

  app.patch(
    '/tenant/notifications',
    {
      preHandler: admin,
      schema: {
        tags: ['tenant'],
        summary: 'Change where staff notifications go (admin); null turns them off',
        body: Type.Object(
          {
            notificationEmail: Type.Union([Type.String({ format: 'email', maxLength: 320 }), Type.Null()]),
          },
          { additionalProperties: false },
        ),
        response: { 200: NotificationsView, ...Errors },
      },
    },
    async (request) => {
      const actor = staffActor(request);
      const value = request.body.notificationEmail?.trim() || null;
      if (value !== null && notificationEmailOf({ notificationEmail: value }) === null)
        throw new AppError('validation_failed', 'Invalid body', {
          fields: [{ field: 'body.notificationEmail', message: 'must be an email address' }],
        });
      const { body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const tenant = await tx
          .selectFrom('tenants')
          .select('settings')
          .where('id', '=', actor.tenantId)
          .forUpdate()
          .executeTakeFirst();
        if (!tenant) throw new AppError('not_found', 'Tenant not found');
        const { notificationEmail: _previous, ...rest } = tenant.settings;
        const settings = value === null ? rest : { ...rest, notificationEmail: value };
        await tx
          .updateTable('tenants')
          .set({ settings: JSON.stringify(settings), updated_at: deps.services.clock.now() })
          .where('id', '=', actor.tenantId)
          .execute();
        await writeAudit(tx, auditContext(request), {
          action: 'tenant.notifications_updated',
          subjectType: 'tenant',
          subjectId: actor.tenantId,
          before: { notificationEmail: notificationEmailOf(tenant.settings) },
          after: { notificationEmail: value },
        });
        return { status: 200, body: { notificationEmail: value } };
      });
      return body;
    },
  );
};
