import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { isUuid } from '../db/uuid.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { decodeCursor, encodeCursor, PageQuery, pageOf } from '../http/pagination.ts';
import { approveLines } from './approve-lines.ts';
import type { CommissionLineRow, CommissionLineStatus } from './commission-line.table.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  409: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const STATUSES: CommissionLineStatus[] = ['pending', 'awaiting_approval', 'approved', 'paid', 'cancelled'];
const Id = Type.String({ format: 'uuid' });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const Money = Type.Integer({ description: 'Signed integer count of minor units of `currency`' });
const Time = Type.String({ format: 'date-time' });

export const CommissionLine = Type.Object({
  id: Id,
  programId: Id,
  partnerId: Id,
  dealId: Nullable(Id),
  dealEventId: Nullable(Id),
  ruleId: Nullable(Id),
  ruleVersion: Type.Union([Type.Integer(), Type.Null()]),
  kind: Type.String(),
  status: Type.String(),
  amount: Money,
  currency: Type.String(),
  basisAmount: Type.Union([Money, Type.Null()]),
  basisCurrency: Nullable(Type.String()),
  rate: Nullable(Type.String()),
  fxRate: Nullable(Type.String()),
  overrideDepth: Type.Union([Type.Integer(), Type.Null()]),
  sourceLineId: Nullable(Id),
  reversesLineId: Nullable(Id),
  accruedAt: Time,
  holdUntil: Time,
  approvedAt: Nullable(Time),
  approvedBy: Nullable(Type.String()),
  payoutId: Nullable(Id),
  paidAt: Nullable(Time),
});

export function commissionLineView(row: CommissionLineRow) {
  return {
    id: row.id,
    programId: row.program_id,
    partnerId: row.partner_id,
    dealId: row.deal_id,
    dealEventId: row.deal_event_id,
    ruleId: row.rule_id,
    ruleVersion: row.rule_version,
    kind: row.kind,
    status: row.status,
    amount: Number(row.amount),
    currency: row.currency,
    basisAmount: row.basis_amount === null ? null : Number(row.basis_amount),
    basisCurrency: row.basis_currency,
    rate: row.rate,
    fxRate: row.fx_rate,
    overrideDepth: row.override_depth,
    sourceLineId: row.source_line_id,
    reversesLineId: row.reverses_line_id,
    accruedAt: row.accrued_at.toISOString(),
    holdUntil: row.hold_until.toISOString(),
    approvedAt: row.approved_at?.toISOString() ?? null,
    approvedBy: row.approved_by,
    payoutId: row.payout_id,
    paidAt: row.paid_at?.toISOString() ?? null,
  };
}

const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(STATUSES)),
    partnerId: Type.Optional(Id),
    programId: Type.Optional(Id),
    dealId: Type.Optional(Id),
    ...PageQuery,
  },
  { additionalProperties: false },
);

const ApproveBody = Type.Union([
  Type.Object(
    { lineIds: Type.Array(Id, { minItems: 1, maxItems: 1000, uniqueItems: true }) },
    { additionalProperties: false },
  ),
  Type.Object({ programId: Id, partnerId: Type.Optional(Id) }, { additionalProperties: false }),
]);

const ApproveResponse = Type.Object({
  approved: Type.Array(CommissionLine),
  skipped: Type.Array(Type.Object({ id: Id, reason: Type.String() })),
  ledgerTransactionId: Nullable(Id),
  /** A bulk approval takes at most a few thousand lines per call; true: call again for the rest. */
  more: Type.Boolean(),
});

/**
 * Commission lines: staff list them (newest accrual first) and approve those past their hold.
 * Approving moves money to payable, so sales reps may look but not approve.
 */
export const commissionLineRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const anyStaff = requireStaff(deps, ['program_manager', 'sales_rep']);
  const managers = requireStaff(deps, ['program_manager']);

  app.get(
    '/commission-lines',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['commissions'],
        summary: 'List commission lines, newest accrual first',
        querystring: ListQuery,
        response: { 200: pageOf(CommissionLine), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const q = request.query;
      const limit = q.limit ?? 50;
      const after = decodeCursor(q.cursor);
      if (after && !isUuid(after.id))
        throw new AppError('bad_request', 'The cursor is not one this API gave out');
      let query = deps.db.selectFrom('commission_lines').selectAll().where('tenant_id', '=', tenantId);
      if (q.status) query = query.where('status', '=', q.status);
      if (q.partnerId) query = query.where('partner_id', '=', q.partnerId);
      if (q.programId) query = query.where('program_id', '=', q.programId);
      if (q.dealId) query = query.where('deal_id', '=', q.dealId);
      if (after)
        query = query.where(
          sql<boolean>`(accrued_at, id) < (${new Date(after.at)}::timestamptz, ${after.id}::uuid)`,
        );
      const rows = await query
        .orderBy('accrued_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(commissionLineView),
        nextCursor:
          rows.length > limit && last
            ? encodeCursor({ at: last.accrued_at.toISOString(), id: last.id })
            : null,
      };
    },
  );

  app.post(
    '/commission-lines/approve',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary:
          'Approve lines past their hold, by id or all of a program (and partner): pending → payable. ' +
          'Lines still in hold, cancelled or already approved are skipped.',
        body: ApproveBody,
        response: { 200: ApproveResponse, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const body = request.body;
      const { status, body: result } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        if ('programId' in body) {
          const program = await tx
            .selectFrom('programs')
            .select('id')
            .where('tenant_id', '=', actor.tenantId)
            .where('id', '=', body.programId)
            .executeTakeFirst();
          if (!program) throw new AppError('not_found', 'Program not found');
        }
        const outcome = await approveLines(tx, {
          tenantId: actor.tenantId,
          selection: 'lineIds' in body ? { lineIds: body.lineIds } : body,
          now: deps.services.clock.now(),
          approvedBy: `api_key:${actor.apiKeyId}`,
          audit: auditContext(request),
        });
        if (
          'lineIds' in body &&
          outcome.skipped.every((s) => s.reason === 'not_found') &&
          outcome.approved.length === 0
        )
          throw new AppError('not_found', 'None of these commission lines exist');
        return {
          status: 200,
          body: {
            approved: outcome.approved.map(commissionLineView),
            skipped: outcome.skipped,
            ledgerTransactionId: outcome.ledgerTransactionId,
            more: outcome.more,
          },
        };
      });
      return reply.status(status).send(result);
    },
  );
};
