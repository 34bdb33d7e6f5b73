import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app.ts';
import { writeAudit } from '../../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../../auth/authenticate.ts';
import type { DbOrTx } from '../../db/database.ts';
import { idempotentWrite } from '../../http/idempotency.ts';
import { findChangeStream, setChangeCaptureMode } from './salesforce-change-stream.repository.ts';
import type { SalesforceChangeStreamRow } from './salesforce-change-stream.table.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const Mode = Type.Union([Type.Literal('cdc'), Type.Literal('polling')]);
const NullableDate = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const ChangeCapture = Type.Object({
  mode: Mode,
  reason: Type.Union([Type.String(), Type.Null()]),
  /** Whether the mode is in use: the tenant's CRM is Salesforce. */
  salesforce: Type.Boolean(),
  replayId: Type.Union([Type.String(), Type.Null()]),
  lastEventAt: NullableDate,
  polledUntil: NullableDate,
  /** A process holds the tenant's stream now. */
  streaming: Type.Boolean(),
  lastError: Type.Union([Type.String(), Type.Null()]),
});

async function view(db: DbOrTx, tenantId: string, row?: SalesforceChangeStreamRow) {
  const tenant = await db
    .selectFrom('tenants')
    .select('crm_kind')
    .where('id', '=', tenantId)
    .executeTakeFirst();
  const stream = row ?? (await findChangeStream(db, tenantId));
  const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
  return {
    mode: stream?.mode ?? 'cdc',
    reason: stream?.mode_reason ?? null,
    salesforce: tenant?.crm_kind === 'salesforce',
    replayId: stream?.replay_id == null ? null : String(stream.replay_id),
    lastEventAt: iso(stream?.replayed_at),
    polledUntil: iso(stream?.polled_until),
    streaming: Boolean(
      stream?.lease_owner && stream.lease_expires_at && stream.lease_expires_at > new Date(),
    ),
    lastError: stream?.last_error ?? null,
  };
}

/**
 * How the tenant's Salesforce opportunity changes reach us: `cdc` (Change Data Capture through a
 * CometD subscription, the default) or `polling` (SystemModstamp queries every minute, for editions
 * without CDC). A subscription Salesforce refuses for lack of CDC switches the tenant to polling
 * by itself; the reason says so. Settable before the install too.
 */
export const salesforceChangeCaptureRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (
  app,
  { deps },
) => {
  const admin = requireStaff(deps, ['admin']);

  app.get(
    '/crm/salesforce/change-capture',
    {
      preHandler: admin,
      schema: {
        tags: ['crm'],
        summary:
          'How Salesforce opportunity changes reach PartnerLoop (CDC or polling) and how far they have',
        response: { 200: ChangeCapture, ...Errors },
      },
    },
    async (request) => view(deps.db, staffActor(request).tenantId),
  );

  app.patch(
    '/crm/salesforce/change-capture',
    {
      preHandler: admin,
      schema: {
        tags: ['crm'],
        summary: 'Choose CDC or polling for Salesforce opportunity changes (admin)',
        body: Type.Object({ mode: Mode }, { additionalProperties: false }),
        response: { 200: ChangeCapture, ...Errors },
      },
    },
    async (request) => {
      const actor = staffActor(request);
      const { body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const before = await findChangeStream(tx, actor.tenantId);
        let row = await setChangeCaptureMode(tx, actor.tenantId, request.body.mode, 'chosen by an admin');
        if (request.body.mode === 'cdc' && before?.mode === 'polling') {
          // Back to CDC after polling: the old replay id may be past retention; polling has read up
          // to its cursor, and the retained events replayed from the start are deduplicated.
          row = await tx
            .updateTable('salesforce_change_streams')
            .set({ replay_id: null, last_error: null })
            .where('tenant_id', '=', actor.tenantId)
            .returningAll()
            .executeTakeFirstOrThrow();
        }
        await writeAudit(tx, auditContext(request), {
          action: 'crm.change_capture.changed',
          subjectType: 'tenant',
          subjectId: actor.tenantId,
          before: { mode: before?.mode ?? 'cdc' },
          after: { mode: row.mode },
        });
        return { status: 200, body: await view(tx, actor.tenantId, row) };
      });
      return body;
    },
  );
};
