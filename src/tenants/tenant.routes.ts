import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { createApiKey, listApiKeys, revokeApiKey } from './api-key.service.ts';
import { findTenant, isCurrency, isTimeZone } from './tenant.repository.ts';
import type { ApiKeyRow, TenantRow } from './tenant.table.ts';

const Role = Type.Union([Type.Literal('admin'), Type.Literal('program_manager'), Type.Literal('sales_rep')]);
const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Role,
  keyPrefix: Type.String(),
  createdAt: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
});

const Tenant = Type.Object({
  id: Type.String(),
  name: Type.String(),
  crmKind: Type.String(),
  status: Type.String(),
  timeZone: Type.String(),
  currency: Type.String(),
});

function apiKeyView(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    keyPrefix: row.key_prefix,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

function tenantView(row: TenantRow) {
  return {
    id: row.id,
    name: row.name,
    crmKind: row.crm_kind,
    status: row.status,
    timeZone: row.time_zone,
    currency: row.currency,
  };
}

/** The tenant's own settings and its staff API keys. Admins only, except reading the tenant. */
export const tenantRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const admin = requireStaff(deps, ['admin']);
  const anyStaff = requireStaff(deps, ['admin', 'program_manager', 'sales_rep']);

  app.get(
    '/tenant',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['tenant'],
        summary: 'The tenant of the calling key',
        response: { 200: Tenant, ...Errors },
      },
    },
    async (request) => {
      const tenant = await findTenant(deps.db, staffActor(request).tenantId);
      if (!tenant) throw new AppError('not_found', 'Tenant not found');
      return tenantView(tenant);
    },
  );

  app.patch(
    '/tenant',
    {
      preHandler: admin,
      schema: {
        tags: ['tenant'],
        summary: 'Change tenant settings (admin)',
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            timeZone: Type.Optional(Type.String({ minLength: 1 })),
            currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Tenant, ...Errors },
      },
    },
    async (request) => {
      const actor = staffActor(request);
      const { name, timeZone, currency } = request.body;
      const fields = [];
      if (timeZone !== undefined && !isTimeZone(timeZone))
        fields.push({ field: 'body.timeZone', message: 'is not an IANA time zone' });
      if (currency !== undefined && !isCurrency(currency))
        fields.push({ field: 'body.currency', message: 'is not an ISO 4217 code' });
      if (fields.length) throw new AppError('validation_failed', 'Invalid body', { fields });
      const { body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const before = await findTenant(tx, actor.tenantId);
        const after = await tx
          .updateTable('tenants')
          .set({
            ...(name !== undefined ? { name } : {}),
            ...(timeZone !== undefined ? { time_zone: timeZone } : {}),
            ...(currency !== undefined ? { currency } : {}),
            updated_at: deps.services.clock.now(),
          })
          .where('id', '=', actor.tenantId)
          .returningAll()
          .executeTakeFirstOrThrow();
        await writeAudit(tx, auditContext(request), {
          action: 'tenant.updated',
          subjectType: 'tenant',
          subjectId: actor.tenantId,
          before: before && tenantView(before),
          after: tenantView(after),
        });
        return { status: 200, body: tenantView(after) };
      });
      return body;
    },
  );

  app.get(
    '/api-keys',
    {
      preHandler: admin,
      schema: {
        tags: ['tenant'],
        summary: 'List API keys (admin)',
        response: { 200: Type.Object({ items: Type.Array(ApiKey) }), ...Errors },
      },
    },
    async (request) => ({
      items: (await listApiKeys(deps.db, staffActor(request).tenantId)).map(apiKeyView),
    }),
  );

  app.post(
    '/api-keys',
    {
      preHandler: admin,
      schema: {
        tags: ['tenant'],
        summary: 'Create an API key (admin); the key is shown once',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), role: Role },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: Type.String(), apiKey: ApiKey }), ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const { status, body } = await idempotentWrite(
        deps.db,
        request,
        actor.tenantId,
        async (tx) => {
          const created = await createApiKey(tx, {
            tenantId: actor.tenantId,
            role: request.body.role,
            name: request.body.name,
            createdBy: actor.apiKeyId,
          });
          await writeAudit(tx, auditContext(request), {
            action: 'api_key.created',
            subjectType: 'api_key',
            subjectId: created.row.id,
            after: apiKeyView(created.row),
          });
          return { status: 201, body: { key: created.key, apiKey: apiKeyView(created.row) } };
        },
        { sensitive: { key: deps.services.secrets.tokenEncryptionKey } },
      );
      return reply.status(status).send(body);
    },
  );

  app.delete(
    '/api-keys/:id',
    {
      preHandler: admin,
      schema: {
        tags: ['tenant'],
        summary: 'Revoke an API key (admin)',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: ApiKey, ...Errors },
      },
    },
    async (request) => {
      const actor = staffActor(request);
      const { body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const row = await revokeApiKey(tx, actor.tenantId, request.params.id);
        if (!row) throw new AppError('not_found', 'API key not found');
        await writeAudit(tx, auditContext(request), {
          action: 'api_key.revoked',
          subjectType: 'api_key',
          subjectId: row.id,
          after: apiKeyView(row),
        });
        return { status: 200, body: apiKeyView(row) };
      });
      return body;
    },
  );
};
