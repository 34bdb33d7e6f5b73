import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import type { Tx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { decodeCursor, PageQuery, pageFrom, pageOf } from '../http/pagination.ts';
import { findBatch, listBatches, payoutsOfBatch } from './payout.repository.ts';
import type { PayoutBatchRow, PayoutRow } from './payout.table.ts';
import { type ExportPart, exportCsv } from './payout-export.ts';
import { applyOutcome, manualPayoutProvider } from './payout-provider.ts';
import { runPayouts } from './payout-run.ts';
import { approveBatch, markExported, type SettlementContext } from './payout-settlement.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  409: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const Id = Type.String({ format: 'uuid' });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.String({ format: 'date-time' });
const Money = Type.Integer({ description: 'Integer count of minor units of `currency`' });
const BATCH_STATUSES = ['draft', 'approved', 'exported', 'paid', 'failed'] as const;

const Payout = Type.Object({
  id: Id,
  partnerId: Id,
  programId: Id,
  currency: Type.String(),
  amount: Money,
  lineCount: Type.Integer(),
  minimumPayout: Money,
  status: Type.String(),
  reference: Nullable(Type.String()),
  failureReason: Nullable(Type.String()),
  settledAt: Nullable(Time),
});

const Batch = Type.Object({
  id: Id,
  programId: Nullable(Id),
  currency: Type.String(),
  status: Type.String(),
  createdBy: Type.String(),
  approvedBy: Nullable(Type.String()),
  approvedAt: Nullable(Time),
  exportedAt: Nullable(Time),
  settledAt: Nullable(Time),
  createdAt: Time,
  total: Type.Optional(Money),
  payouts: Type.Optional(Type.Array(Payout)),
});

const payoutView = (p: PayoutRow) => ({
  id: p.id,
  partnerId: p.partner_id,
  programId: p.program_id,
  currency: p.currency,
  amount: Number(p.amount),
  lineCount: p.line_count,
  minimumPayout: Number(p.minimum_payout),
  status: p.status,
  reference: p.reference,
  failureReason: p.failure_reason,
  settledAt: p.settled_at?.toISOString() ?? null,
});

const batchView = (b: PayoutBatchRow, payouts?: PayoutRow[]) => ({
  id: b.id,
  programId: b.program_id,
  currency: b.currency,
  status: b.status,
  createdBy: b.created_by,
  approvedBy: b.approved_by,
  approvedAt: b.approved_at?.toISOString() ?? null,
  exportedAt: b.exported_at?.toISOString() ?? null,
  settledAt: b.settled_at?.toISOString() ?? null,
  createdAt: b.created_at.toISOString(),
  ...(payouts
    ? {
        total: Number(payouts.filter((p) => p.status !== 'failed').reduce((t, p) => t + p.amount, 0n)),
        payouts: payouts.map(payoutView),
      }
    : {}),
});

const IdParams = Type.Object({ id: Id });
const ItemParams = Type.Object({ id: Id, payoutId: Id });

/**
 * Payout batches: a run over the payable balances of one currency, approval, the CSV export for
 * accounts payable, and settlement of each partner's payout (paid with a reference, or failed).
 * Money leaves the business here, so approving and settling is for admins; program managers prepare.
 */
export const payoutRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const managers = requireStaff(deps, ['program_manager']);
  const admin = requireStaff(deps, ['admin']);

  const ctxOf = (request: FastifyRequest): SettlementContext => {
    const actor = staffActor(request);
    return {
      tenantId: actor.tenantId,
      now: deps.services.clock.now(),
      actor: `api_key:${actor.apiKeyId}`,
      audit: auditContext(request),
    };
  };
  const withBatch = async (tx: Tx, tenantId: string, batch: PayoutBatchRow) =>
    batchView(batch, await payoutsOfBatch(tx, tenantId, batch.id));

  app.post(
    '/payouts',
    {
      preHandler: managers,
      schema: {
        tags: ['payouts'],
        summary:
          'Run payouts for a currency (and program): a draft batch paying every partner whose payable ' +
          'balance reaches its minimum. 422 not_eligible when no partner does.',
        body: Type.Object(
          { currency: Type.String({ pattern: '^[A-Z]{3}$' }), programId: Type.Optional(Id) },
          { additionalProperties: false },
        ),
        response: { 201: Batch, ...Errors },
      },
    },
    async (request, reply) => {
      const ctx = ctxOf(request);
      const { status, body } = await idempotentWrite(deps.db, request, ctx.tenantId, async (tx) => {
        if (request.body.programId) {
          const program = await tx
            .selectFrom('programs')
            .select('id')
            .where('tenant_id', '=', ctx.tenantId)
            .where('id', '=', request.body.programId)
            .executeTakeFirst();
          if (!program) throw new AppError('not_found', 'Program not found');
        }
        const run = await runPayouts(tx, {
          tenantId: ctx.tenantId,
          currency: request.body.currency,
          programId: request.body.programId ?? null,
          now: ctx.now,
          createdBy: ctx.actor,
          audit: ctx.audit,
        });
        if (!run.batch)
          throw new AppError('not_eligible', 'No partner has a payable balance at its minimum payout', {
            belowMinimum: run.belowMinimum.map((b) => ({
              ...b,
              amount: b.amount.toString(),
              minimumPayout: b.minimumPayout.toString(),
            })),
          });
        return { status: 201, body: batchView(run.batch, run.payouts) };
      });
      return reply.status(status).send(body);
    },
  );

  app.get(
    '/payouts',
    {
      preHandler: managers,
      schema: {
        tags: ['payouts'],
        summary: 'List payout batches, newest first',
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Enum([...BATCH_STATUSES])),
            currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(Batch), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      if (after && !isUuid(after.id))
        throw new AppError('bad_request', 'The cursor is not one this API gave out');
      const rows = await listBatches(
        deps.db,
        tenantId,
        {
          ...(request.query.status ? { status: request.query.status } : {}),
          ...(request.query.currency ? { currency: request.query.currency } : {}),
        },
        { limit, after },
      );
      return pageFrom(rows, limit, (row) => batchView(row));
    },
  );

  app.get(
    '/payouts/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['payouts'],
        summary: 'One payout batch with its payouts',
        params: IdParams,
        response: { 200: Batch, ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const batch = await findBatch(deps.db, tenantId, request.params.id);
      if (!batch) throw new AppError('not_found', 'Payout batch not found');
      return batchView(batch, await payoutsOfBatch(deps.db, tenantId, batch.id));
    },
  );

  app.post(
    '/payouts/:id/approve',
    {
      preHandler: admin,
      schema: {
        tags: ['payouts'],
        summary: 'Approve a draft batch',
        params: IdParams,
        response: { 200: Batch, ...Errors },
      },
    },
    async (request, reply) => {
      const ctx = ctxOf(request);
      const { status, body } = await idempotentWrite(deps.db, request, ctx.tenantId, async (tx) => ({
        status: 200,
        body: await withBatch(tx, ctx.tenantId, await approveBatch(tx, ctx, request.params.id)),
      }));
      return reply.status(status).send(body);
    },
  );

  app.post(
    '/payouts/:id/export',
    {
      preHandler: managers,
      schema: {
        tags: ['payouts'],
        summary:
          'The CSV for accounts payable (marks an approved batch exported): part=payouts, one row per ' +
          'partner with its payout details; part=lines, the commission lines behind them.',
        params: IdParams,
        querystring: Type.Object(
          { part: Type.Optional(Type.Enum(['payouts', 'lines'])) },
          { additionalProperties: false },
        ),
        response: { 200: Type.String(), ...Errors },
      },
    },
    async (request, reply) => {
      const ctx = ctxOf(request);
      const part: ExportPart = request.query.part ?? 'payouts';
      const csv = await deps.db.transaction().execute(async (tx) => {
        const batch = await markExported(tx, ctx, request.params.id);
        return exportCsv(tx, batch, part);
      });
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="payout-${request.params.id}-${part}.csv"`)
        .send(csv);
    },
  );

  const settle = (path: 'paid' | 'failed') =>
    app.post(
      `/payouts/:id/items/:payoutId/${path}`,
      {
        preHandler: admin,
        schema: {
          tags: ['payouts'],
          summary:
            path === 'paid'
              ? "Mark a partner's payout paid, with the payment's reference"
              : "Mark a partner's payout failed: its lines return to payable for the next run",
          params: ItemParams,
          body:
            path === 'paid'
              ? Type.Object(
                  { reference: Type.String({ minLength: 1, maxLength: 500 }) },
                  { additionalProperties: false },
                )
              : Type.Object(
                  { reason: Type.String({ minLength: 1, maxLength: 2000 }) },
                  { additionalProperties: false },
                ),
          response: { 200: Payout, ...Errors },
        },
      },
      async (request, reply) => {
        const ctx = ctxOf(request);
        const { id, payoutId } = request.params as { id: string; payoutId: string };
        const body = request.body as { reference?: string; reason?: string };
        const { status, body: result } = await idempotentWrite(deps.db, request, ctx.tenantId, async (tx) => {
          const payout = await tx
            .selectFrom('payouts')
            .select('id')
            .where('tenant_id', '=', ctx.tenantId)
            .where('id', '=', payoutId)
            .where('batch_id', '=', id)
            .executeTakeFirst();
          if (!payout) throw new AppError('not_found', 'Payout not found in this batch');
          const outcome =
            path === 'paid'
              ? manualPayoutProvider.markPaid(payoutId, body.reference!)
              : manualPayoutProvider.markFailed(payoutId, body.reason!);
          const row = await applyOutcome(tx, ctx, outcome);
          return { status: 200, body: payoutView(row!) };
        });
        return reply.status(status).send(result);
      },
    );
  settle('paid');
  settle('failed');
};
