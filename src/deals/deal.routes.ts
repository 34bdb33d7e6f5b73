import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { insertAudit, writeAudit } from '../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { CommissionLine, commissionLineView } from '../commissions/commission-line.schemas.ts';
import type { CommissionLineRow } from '../commissions/commission-line.table.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import {
  dealAttributions,
  findDeal,
  lockOrCreateDeal,
  resettleDeal,
  setAttributions,
} from './deal.repository.ts';
import {
  Deal,
  DealEventBatchBody,
  DealEventBody,
  type DealEventFields,
  dealView,
  IdParams,
} from './deal.schemas.ts';
import type { NormalizedDealEvent } from './deal-event.ts';
import { type RecordResult, recordDealEvent } from './deal-events.ts';
import { type IsolatedResult, recordDealEventsIsolated } from './record-deal-events-isolated.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  409: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

/** A posting's lines: each commission before its overrides, by depth (NULL depth first). */
function inLegOrder(lines: CommissionLineRow[]): CommissionLineRow[] {
  return [...lines].sort(
    (a, b) =>
      a.recorded_at.getTime() - b.recorded_at.getTime() ||
      (a.override_depth ?? 0) - (b.override_depth ?? 0) ||
      a.cause_key.localeCompare(b.cause_key),
  );
}

const RecordAnswer = Type.Object({
  outcome: Type.Union([
    Type.Literal('applied'),
    Type.Literal('duplicate'),
    Type.Literal('stale'),
    Type.Literal('unknown_deal'),
  ]),
  deal: Type.Union([Deal, Type.Null()]),
  lines: Type.Array(CommissionLine),
});

/** A deal event as the API receives it, normalized (minor units as bigint, dates as Date). */
function normalizedEventOf(tenantId: string, body: Static<typeof DealEventFields>): NormalizedDealEvent {
  return {
    tenantId,
    source: body.source ?? 'api',
    sourceEventId: body.sourceEventId,
    crmDealId: body.crmDealId,
    occurredAt: new Date(body.occurredAt),
    type: body.type,
    changes: {
      ...body.changes,
      ...(body.changes?.amount
        ? {
            amount: {
              amount: BigInt(body.changes.amount.amount),
              currency: body.changes.amount.currency,
            },
          }
        : {}),
    } as NormalizedDealEvent['changes'],
    ...(body.revenue ? { revenue: { ...body.revenue, amount: BigInt(body.revenue.amount) } } : {}),
  };
}

const BatchAnswer = Type.Object({
  results: Type.Array(
    Type.Object({
      sourceEventId: Type.String(),
      outcome: RecordAnswer.properties.outcome,
      dealId: Type.Union([Type.String(), Type.Null()]),
      /** The commission lines this event posted (accruals and clawbacks). */
      lineIds: Type.Array(Type.String()),
    }),
  ),
});

/** Deal events fed through the API (tests, integrations) and the deal with its commission lines. */
export const dealRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const admin = requireStaff(deps, ['admin']);
  const anyStaff = requireStaff(deps, ['program_manager', 'sales_rep']);

  app.post(
    '/deal-events',
    {
      preHandler: admin,
      schema: {
        tags: ['deals'],
        summary: 'Record a normalized deal event and settle the deal’s commissions',
        body: DealEventBody,
        response: { 200: RecordAnswer, ...Errors },
      },
    },
    async (request, reply) => {
      const { tenantId } = staffActor(request);
      const body = request.body;
      const event = normalizedEventOf(tenantId, body);
      const { status, body: answer } = await idempotentWrite(deps.db, request, tenantId, async (tx) => {
        let reattributed = false;
        if (body.programId || body.attributions) {
          const deal = (await lockOrCreateDeal(tx, tenantId, event.source, event.crmDealId))!;
          if (body.programId && body.programId !== deal.program_id) {
            const program = await tx
              .selectFrom('programs')
              .select('id')
              .where('tenant_id', '=', tenantId)
              .where('id', '=', body.programId)
              .executeTakeFirst();
            if (!program) throw new AppError('not_found', 'Program not found');
            await tx
              .updateTable('deals')
              .set({ program_id: body.programId })
              .where('id', '=', deal.id)
              .execute();
            reattributed = true;
          }
          if (body.attributions)
            reattributed = (await setAttributions(tx, deal, body.attributions)) || reattributed;
        }
        const result = await recordDealEvent(tx, deps.services, event);
        let lineIds = result.lineIds ?? [];
        let deal = result.deal;
        if (reattributed && result.outcome !== 'applied' && deal) {
          const before = new Set(
            (
              await tx.selectFrom('commission_lines').select('id').where('deal_id', '=', deal.id).execute()
            ).map((r) => r.id),
          );
          deal = await resettleDeal(
            tx,
            deps.services,
            (await findDeal(tx, tenantId, deal.id))!,
            'attribution changed',
          );
          lineIds = (
            await tx.selectFrom('commission_lines').select('id').where('deal_id', '=', deal.id).execute()
          )
            .map((r) => r.id)
            .filter((id) => !before.has(id));
        }
        if (deal && (result.outcome === 'applied' || reattributed)) {
          await writeAudit(tx, auditContext(request), {
            action: 'deal.event_recorded',
            subjectType: 'deal',
            subjectId: deal.id,
            after: { type: event.type, sourceEventId: event.sourceEventId, outcome: result.outcome },
          });
        }
        const lines =
          lineIds.length === 0
            ? []
            : await tx
                .selectFrom('commission_lines')
                .selectAll()
                .where('tenant_id', '=', tenantId)
                .where('id', 'in', lineIds)
                .orderBy('recorded_at')
                .orderBy('cause_key')
                .execute();
        return {
          status: 200,
          body: {
            outcome: result.outcome,
            deal: deal ? dealView(deal, await dealAttributions(tx, tenantId, deal.id)) : null,
            lines: inLegOrder(lines).map(commissionLineView),
          },
        };
      });
      return reply.status(status).send(answer);
    },
  );

  app.post(
    '/deal-events/batch',
    {
      preHandler: admin,
      schema: {
        tags: ['deals'],
        summary: 'Record up to 100 normalized deal events in one transaction and settle their commissions',
        description:
          'All or nothing, in one transaction: the outcomes, deals and commission lines are those of one ' +
          'call per event in the order given; any error rolls the whole batch back, and an event the ' +
          'engine refuses is named in the error (body.events.<n>) with the reason. A deal not seen ' +
          'before is created without a program, as by a single call without programId.',
        body: DealEventBatchBody,
        response: { 200: BatchAnswer, ...Errors },
      },
    },
    async (request, reply) => {
      const { tenantId } = staffActor(request);
      const events = request.body.events.map((body) => normalizedEventOf(tenantId, body));
      const { status, body: answer } = await idempotentWrite(deps.db, request, tenantId, async (tx) => {
        const results = refusedOrResults(await recordDealEventsIsolated(tx, deps.services, events));
        const applied = results.flatMap((result, i) =>
          result.outcome === 'applied' && result.deal
            ? [
                {
                  context: auditContext(request),
                  entry: {
                    action: 'deal.event_recorded',
                    subjectType: 'deal',
                    subjectId: result.deal.id,
                    after: {
                      type: events[i]!.type,
                      sourceEventId: events[i]!.sourceEventId,
                      outcome: 'applied',
                    },
                  },
                },
              ]
            : [],
        );
        if (applied.length > 0) await insertAudit(tx, applied).execute();
        return {
          status: 200,
          body: {
            results: results.map((result, i) => ({
              sourceEventId: events[i]!.sourceEventId,
              outcome: result.outcome,
              dealId: result.deal?.id ?? null,
              lineIds: result.lineIds ?? [],
            })),
          },
        };
      });
      return reply.status(status).send(answer);
    },
  );

  app.get(
    '/deals/:id',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['deals'],
        summary: 'A deal with its attributions and commission lines',
        params: IdParams,
        response: { 200: Type.Object({ ...Deal.properties, lines: Type.Array(CommissionLine) }), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const deal = await findDeal(deps.db, tenantId, request.params.id);
      if (!deal) throw new AppError('not_found', 'Deal not found');
      const lines = await deps.db
        .selectFrom('commission_lines')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('deal_id', '=', deal.id)
        .orderBy('recorded_at')
        .orderBy('cause_key')
        .execute();
      return {
        ...dealView(deal, await dealAttributions(deps.db, tenantId, deal.id)),
        lines: inLegOrder(lines).map(commissionLineView),
      };
    },
  );
};

/**
 * A batch is all or nothing: when the engine refuses some of its events, the answer names each
 * (its place in body.events, and the reason) with the first refusal's code, and the batch's
 * transaction rolls back.
 */
function refusedOrResults(results: IsolatedResult[]): RecordResult[] {
  const refused = results.flatMap((result, index) =>
    result.outcome === 'refused' ? [{ index, result }] : [],
  );
  if (refused.length === 0) return results as RecordResult[];
  const fields = refused.map(({ index, result }) => ({
    field: `body.events.${index}`,
    message: result.refusal.message,
  }));
  throw new AppError(
    refused[0]!.result.refusal.code,
    `Nothing was recorded: ${fields.map((f) => `${f.field} was refused: ${f.message}`).join('; ')}`,
    { fields },
  );
}
