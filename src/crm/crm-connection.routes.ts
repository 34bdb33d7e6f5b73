import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { findConnection, openTokens } from './crm-connection.repository.ts';
import { markDisconnected } from './crm-disconnect.ts';
import { uninstallHubspotApp } from './hubspot/hubspot-oauth.auth.ts';
import { hubspotAuthFor } from './hubspot/hubspot-tokens.ts';

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
  connectedAt: Type.String(),
  disconnectedAt: Type.Union([Type.String(), Type.Null()]),
  disconnectReason: Type.Union([Type.String(), Type.Null()]),
});

/** The tenant's CRM connection: its state, and the admin's disconnect (optionally uninstalling the app). */
export const crmConnectionRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const admin = requireStaff(deps, ['admin']);

  app.post(
    '/crm/disconnect',
    {
      preHandler: admin,
      schema: {
        tags: ['crm'],
        summary: 'Disconnect the CRM: revoke and delete its tokens (admin)',
        description:
          'The tenant stops syncing (status `disconnected`); its data stays. With `uninstall: true` the app is also removed from the HubSpot account. Reinstalling reconnects.',
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
      // Best effort at HubSpot first: a token HubSpot still honours is the one worth revoking, and
      // our own copy is deleted below whatever HubSpot answers.
      const tokens =
        row.status === 'revoked' ? undefined : openTokens(deps.services.secrets.tokenEncryptionKey, row);
      if (tokens && row.crm_kind === 'hubspot' && deps.config.hubspotClientId) {
        if (request.body.uninstall) {
          const removed = await uninstallHubspotApp(deps.config, tokens.accessToken);
          if (!removed.ok) request.log.warn({ error: removed.error }, 'hubspot uninstall failed');
        }
        const revoked = await hubspotAuthFor(deps.services).revoke({ refreshToken: tokens.refreshToken });
        if (!revoked.ok)
          request.log.warn({ error: revoked.error }, 'hubspot refresh token revocation failed');
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
        return {
          status: 200,
          body: {
            crmKind: after.crm_kind,
            accountId: after.account_id,
            status: after.status,
            scopes: after.scopes,
            connectedAt: after.connected_at.toISOString(),
            disconnectedAt: after.disconnected_at?.toISOString() ?? null,
            disconnectReason: after.disconnect_reason,
          },
        };
      });
      return body;
    },
  );
};
