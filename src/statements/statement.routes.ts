import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { contactActor, requireContact, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { periodEnd, periodStart } from '../http/period-bounds.ts';
import { findPartnerInSubtree } from '../partners/partner.repository.ts';
import { findTenant } from '../tenants/tenant.repository.ts';
import { buildStatement, type Statement } from './statement.ts';
import { type StatementPart, statementCsv } from './statement-csv.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
};

const Id = Type.String({ format: 'uuid' });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
const Money = Type.Integer({ description: 'Signed integer count of minor units of `currency`' });
const Time = Type.String({ format: 'date-time' });
const States = Type.Object({ pending: Money, payable: Money, paid: Money });

const StatementSchema = Type.Object({
  partnerId: Id,
  from: Time,
  to: Time,
  balances: Type.Array(
    Type.Object({
      programId: Id,
      currency: Type.String(),
      opening: States,
      movements: Type.Object({ accrued: Money, approved: Money, clawedBackFromPayable: Money, paid: Money }),
      closing: States,
    }),
  ),
  lines: Type.Array(
    Type.Object({
      id: Id,
      programId: Id,
      kind: Type.String(),
      status: Type.String(),
      amount: Money,
      currency: Type.String(),
      accruedAt: Time,
      holdUntil: Time,
      approvedAt: Nullable(Time),
      paidAt: Nullable(Time),
      causeKey: Type.String(),
      dealId: Nullable(Id),
      crmDealId: Nullable(Type.String()),
      dealName: Nullable(Type.String()),
      dealEventId: Nullable(Id),
      dealEventSourceId: Nullable(Type.String()),
      dealEventType: Nullable(Type.String()),
      ruleId: Nullable(Id),
      ruleVersion: NullableInt,
      rate: Nullable(Type.String()),
      basisAmount: Type.Union([Money, Type.Null()]),
      basisCurrency: Nullable(Type.String()),
      fxRate: Nullable(Type.String()),
      periodKey: Nullable(Type.String()),
      overrideDepth: NullableInt,
      sourceLineId: Nullable(Id),
      reversesLineId: Nullable(Id),
      payout: Type.Union([
        Type.Object({ id: Id, batchId: Id, status: Type.String(), reference: Nullable(Type.String()) }),
        Type.Null(),
      ]),
    }),
  ),
});

const Query = Type.Object(
  {
    from: Type.String({ maxLength: 40, description: "YYYY-MM-DD (the tenant's day) or an ISO instant" }),
    to: Type.String({
      maxLength: 40,
      description: 'YYYY-MM-DD (inclusive day) or an ISO instant (exclusive)',
    }),
    programId: Type.Optional(Id),
    format: Type.Optional(Type.Enum(['json', 'csv'])),
    part: Type.Optional(Type.Enum(['lines', 'balances'], { description: 'For CSV: which table' })),
  },
  { additionalProperties: false },
);
type StatementQuery = Static<typeof Query>;

function statementView(s: Statement) {
  const num = (v: bigint) => Number(v);
  const states = (x: { pending: bigint; payable: bigint; paid: bigint }) => ({
    pending: num(x.pending),
    payable: num(x.payable),
    paid: num(x.paid),
  });
  return {
    partnerId: s.partnerId,
    from: s.from.toISOString(),
    to: s.to.toISOString(),
    balances: s.balances.map((b) => ({
      programId: b.programId,
      currency: b.currency,
      opening: states(b.opening),
      movements: {
        accrued: num(b.movements.accrued),
        approved: num(b.movements.approved),
        clawedBackFromPayable: num(b.movements.clawedBackFromPayable),
        paid: num(b.movements.paid),
      },
      closing: states(b.closing),
    })),
    lines: s.lines.map(({ approvedBy: _, ...l }) => ({
      ...l,
      amount: num(l.amount),
      basisAmount: l.basisAmount === null ? null : num(l.basisAmount),
      accruedAt: l.accruedAt.toISOString(),
      holdUntil: l.holdUntil.toISOString(),
      approvedAt: l.approvedAt?.toISOString() ?? null,
      paidAt: l.paidAt?.toISOString() ?? null,
    })),
  };
}

/**
 * Partner statements: staff read any partner's, a partner contact (a `view_statements` link) its own
 * partner's and those below it. JSON, or CSV with `format=csv`.
 */
export const statementRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const staff = requireStaff(deps, ['program_manager', 'sales_rep']);
  const contact = requireContact(deps, ['view_statements']);

  async function period(tenantId: string, query: StatementQuery): Promise<{ from: Date; to: Date }> {
    const zone = (await findTenant(deps.db, tenantId))?.time_zone ?? 'UTC';
    const from = periodStart(query.from, zone, 'querystring.from');
    const to = periodEnd(query.to, zone, 'querystring.to');
    if (from >= to)
      throw new AppError('validation_failed', 'Invalid request: querystring.from must be before to', {
        fields: [{ field: 'querystring.from', message: 'must be before to' }],
      });
    return { from, to };
  }

  async function answer(reply: FastifyReply, tenantId: string, partnerId: string, query: StatementQuery) {
    const statement = await buildStatement(deps.db, {
      tenantId,
      partnerId,
      ...(await period(tenantId, query)),
      programId: query.programId ?? null,
    });
    if (query.format === 'csv') {
      const part: StatementPart = query.part ?? 'lines';
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="statement-${partnerId}-${part}.csv"`)
        .send(statementCsv(statement, part));
    }
    return reply.send(statementView(statement));
  }

  const schema = (summary: string, security?: { [name: string]: string[] }[]) => ({
    tags: ['statements'],
    summary,
    ...(security ? { security } : {}),
    params: Type.Object({ id: Id }),
    querystring: Query,
    response: { 200: Type.Union([StatementSchema, Type.String()]), ...Errors },
  });

  app.get(
    '/partners/:id/statement',
    { preHandler: staff, schema: schema("A partner's statement for a period: balances and traceable lines") },
    async (request, reply) => {
      const { tenantId } = staffActor(request);
      const partner = await deps.db
        .selectFrom('partners')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', request.params.id)
        .executeTakeFirst();
      if (!partner) throw new AppError('not_found', 'Partner not found');
      return answer(reply, tenantId, partner.id, request.query);
    },
  );

  app.get(
    '/portal/partners/:id/statement',
    {
      preHandler: contact,
      schema: schema("The statement of a partner of the contact's subtree (404 for any other)", [
        { partnerLink: [] },
      ]),
    },
    async (request, reply) => {
      const actor = contactActor(request);
      const partner = await findPartnerInSubtree(deps.db, actor.tenantId, actor.partnerId, request.params.id);
      if (!partner) throw new AppError('not_found', 'Partner not found');
      return answer(reply, actor.tenantId, partner.id, request.query);
    },
  );
};
