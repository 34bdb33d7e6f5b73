import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { findConnection, openTokens } from './crm-connection.repository.ts';
import type { CrmConnectionRow } from './crm-connection.table.ts';
import { markDisconnected } from './crm-disconnect.ts';
import { crmConnectorFor, revokeAtCrm } from './crm-vendors.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const Connection = Type.Object({
  crmKind: Type.String(),
  accountId: Type.String(),
  status: Type.String(),
  scopes: Type.Array(Type.String()),
  /** Salesforce's instance URL; null for HubSpot. */
  instanceUrl: Type.Union([Type.String(), Type.Null()]),
  connectedAt: Type.String(),
  disconnectedAt: Type.Union([Type.String(), Type.Null()]),
  disconnectReason: Type.Union([Type.String(), Type.Null()]),
});

const FieldCheck = Type.Object({
  /** False when the CRM could not be asked (not connected, unavailable): see `problem`. */
  checked: Type.Boolean(),
  /** Our deal properties/fields created by this check (HubSpot); Salesforce's are deployed, never created. */
  created: Type.Array(Type.String()),
  /** Our fields the CRM lacks (or has in a shape we cannot use): deploy crm-extensions/salesforce. */
  missing: Type.Array(Type.String()),
  problem: Type.Union([Type.String(), Type.Null()]),
});

const ConnectionWithFields = Type.Intersect([Connection, Type.Object({ fields: FieldCheck })]);

function connectionView(row: CrmConnectionRow) {
  return {
    crmKind: row.crm_kind,
    accountId: row.account_id,
    status: row.status,
    scopes: row.scopes,
    instanceUrl: row.instance_url,
    connectedAt: row.connected_at.toISOString(),
    disconnectedAt: row.disconnected_at?.toISOString() ?? null,
    disconnectReason: row.disconnect_reason,
  };
}

const unchecked = (problem: string) => ({ checked: false, created: [], missing: [], problem });

/**
 * The tenant's CRM connection: its state and our fields there, the admin's field check, and the
 * admin's disconnect (optionally uninstalling the app).
 */
export const crmConnectionRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const admin = requireStaff(deps, ['admin']);
  const managers = requireStaff(deps, ['program_manager']);

  app.get(
    '/crm/connection',
    {
      preHandler: managers,
      schema: {
        tags: ['crm'],
        summary: "The CRM connection and which of our deal fields the CRM lacks (reads the CRM's schema)",
        response: { 200: ConnectionWithFields, ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const row = await findConnection(deps.db, tenantId);
      if (!row) throw new AppError('not_found', 'This tenant has no CRM connection');
      if (row.status !== 'connected')
        return { ...connectionView(row), fields: unchecked('The CRM is not connected') };
      const connector = await crmConnectorFor(deps.db, deps.services, tenantId, { priority: 'interactive' });
      const missing = connector
        ? await connector.missingProperties()
        : { ok: false as const, error: { message: 'no CRM' } };
      return {
        ...connectionView(row),
        fields: missing.ok
          ? { checked: true, created: [], missing: missing.value, problem: null }
          : unchecked(missing.error.message),
      };
    },
  );

  app.post(
    '/crm/fields/check',
    {
      preHandler: admin,
      schema: {
        tags: ['crm'],
        summary:
          'Check our deal fields in the CRM: create what the CRM lets us, list what is missing (admin)',
        description:
          'HubSpot: missing deal properties are created. Salesforce: custom fields are metadata an app cannot create; deploy `crm-extensions/salesforce` and check again.',
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 200: FieldCheck, ...Errors },
      },
    },
    async (request) => {
      const actor = staffActor(request);
      const row = await findConnection(deps.db, actor.tenantId);
      if (!row) throw new AppError('not_found', 'This tenant has no CRM connection');
      if (row.status !== 'connected') return unchecked('The CRM is not connected');
      const connector = await crmConnectorFor(deps.db, deps.services, actor.tenantId, {
        priority: 'interactive',
      });
      const checked = connector ? await connector.ensureProperties() : undefined;
      if (!checked?.ok) return unchecked(checked ? checked.error.message : 'no CRM');
      if (checked.value.created.length > 0)
        await writeAudit(deps.db, auditContext(request), {
          action: 'crm.fields_created',
          subjectType: 'tenant',
          subjectId: actor.tenantId,
          after: { created: checked.value.created },
        });
      return { checked: true, created: checked.value.created, missing: checked.value.missing, problem: null };
    },
  );

  app.post(
    '/crm/disconnect',
    {
      preHandler: admin,
      schema: {
        tags: ['crm'],
        summary: 'Disconnect the CRM: revoke and delete its tokens (admin)',
        description:
          'The tenant stops syncing (status `disconnected`); its data stays. The refresh token is revoked at the CRM. With `uninstall: true` the app is also removed from the HubSpot account (a Salesforce org admin removes the app in Setup). Reinstalling reconnects.',
        body: Type.Object(
          { uninstall: Type.Optional(Type.Boolean({ default: false })) },
          { additionalProperties: false },
        ),
        response: { 200: Connection, ...Errors },
      },
    },
    async (request) => {
      const actor = staffActor(request);
      const row = await findConnection(deps.db, actor.tenantId);
      if (!row) throw new AppError('not_found', 'This tenant has no CRM connection');
      // Best effort at the CRM first: a token the CRM still honours is the one worth revoking, and
      // our own copy is deleted below whatever the CRM answers.
      const tokens =
        row.status === 'revoked' ? undefined : openTokens(deps.services.secrets.tokenEncryptionKey, row);
      if (tokens) {
        const problems = await revokeAtCrm(deps.services, row, tokens, {
          uninstall: request.body.uninstall ?? false,
        });
        for (const { step, error } of problems) request.log.warn({ error }, `${step} failed`);
      }
      const { body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        await markDisconnected(
          tx,
          actor.tenantId,
          request.body.uninstall ? 'uninstalled' : 'admin_disconnect',
          { actorType: 'api_key', actorId: actor.apiKeyId, source: 'api', requestId: request.id },
          true,
        );
        const after = await findConnection(tx, actor.tenantId);
        if (!after) throw new AppError('not_found', 'This tenant has no CRM connection');
        return { status: 200, body: connectionView(after) };
      });
      return body;
    },
  );
};
