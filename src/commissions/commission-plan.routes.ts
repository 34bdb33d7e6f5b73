import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import {
  addFxRate,
  addRuleVersion,
  createPlan,
  findPlan,
  listFxRates,
  listPlans,
  planRules,
} from './commission-plan.repository.ts';
import {
  FxRate,
  FxRateBody,
  fxRateView,
  IdParams,
  Plan,
  PlanBody,
  Preview,
  PreviewBody,
  planView,
  previewView,
  Rule,
  RuleBody,
  ruleView,
} from './commission-plan.schemas.ts';
import type { RuleConditions, RuleConfig } from './commission-plan.table.ts';
import { previewPlan } from './plan-preview.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  409: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

/** Commission plans and their versioned rules, exchange rates, and the preview of a plan. */
export const commissionPlanRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const admin = requireStaff(deps, ['admin']);
  const managers = requireStaff(deps, ['program_manager']);

  app.post(
    '/programs/:id/commission-plans',
    {
      preHandler: admin,
      schema: {
        tags: ['commissions'],
        summary: 'Create a commission plan for a program (the first one is the program’s plan)',
        params: IdParams,
        body: PlanBody,
        response: { 201: Plan, ...Errors },
      },
    },
    async (request, reply) => {
      const { tenantId } = staffActor(request);
      const { status, body } = await idempotentWrite(deps.db, request, tenantId, async (tx) => {
        const plan = await createPlan(tx, {
          tenantId,
          programId: request.params.id,
          name: request.body.name,
          ...(request.body.attach !== undefined ? { attach: request.body.attach } : {}),
        });
        await writeAudit(tx, auditContext(request), {
          action: 'commission_plan.created',
          subjectType: 'commission_plan',
          subjectId: plan.id,
          after: { programId: plan.program_id, name: plan.name },
        });
        return { status: 201, body: planView(plan, []) };
      });
      return reply.status(status).send(body);
    },
  );

  app.get(
    '/programs/:id/commission-plans',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary: 'The commission plans of a program, with every rule version',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Plan) }), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const program = await deps.db
        .selectFrom('programs')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', request.params.id)
        .executeTakeFirst();
      if (!program) throw new AppError('not_found', 'Program not found');
      const plans = await listPlans(deps.db, tenantId, program.id);
      const items = [];
      for (const plan of plans) items.push(planView(plan, await planRules(deps.db, tenantId, plan.id)));
      return { items };
    },
  );

  app.get(
    '/commission-plans/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary: 'A commission plan with every rule version',
        params: IdParams,
        response: { 200: Plan, ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const plan = await findPlan(deps.db, tenantId, request.params.id);
      if (!plan) throw new AppError('not_found', 'Commission plan not found');
      return planView(plan, await planRules(deps.db, tenantId, plan.id));
    },
  );

  app.post(
    '/commission-plans/:id/rules',
    {
      preHandler: admin,
      schema: {
        tags: ['commissions'],
        summary: 'Add a rule, or a new version of one, in force from its effective date',
        params: IdParams,
        body: RuleBody,
        response: { 201: Rule, ...Errors },
      },
    },
    async (request, reply) => {
      const { tenantId } = staffActor(request);
      const b = request.body;
      const { status, body } = await idempotentWrite(deps.db, request, tenantId, async (tx) => {
        const rule = await addRuleVersion(tx, {
          tenantId,
          planId: request.params.id,
          ruleKey: b.ruleKey,
          type: b.type,
          config: b.config as unknown as RuleConfig,
          conditions: (b.conditions ?? {}) as RuleConditions,
          effectiveFrom: new Date(b.effectiveFrom),
          ...(b.status ? { status: b.status } : {}),
          ...(b.position !== undefined ? { position: b.position } : {}),
        });
        await writeAudit(tx, auditContext(request), {
          action: 'commission_rule.versioned',
          subjectType: 'commission_plan',
          subjectId: request.params.id,
          after: ruleView(rule),
        });
        return { status: 201, body: ruleView(rule) };
      });
      return reply.status(status).send(body);
    },
  );

  app.post(
    '/programs/:id/plan-preview',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary: 'What a (draft) plan would have paid for the deals won in a past period; posts nothing',
        params: IdParams,
        body: PreviewBody,
        response: { 200: Preview, ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      if (request.body.from > request.body.to) throw new AppError('bad_request', '`from` is after `to`');
      const result = await previewPlan(deps.db, {
        tenantId,
        programId: request.params.id,
        planId: request.body.planId ?? null,
        from: request.body.from,
        to: request.body.to,
        fieldNames: { from: 'body.from', to: 'body.to' },
      });
      return previewView(result);
    },
  );

  app.get(
    '/fx-rates',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary: 'Exchange rates for programs paying in another currency than the deal’s',
        response: { 200: Type.Object({ items: Type.Array(FxRate) }), ...Errors },
      },
    },
    async (request) => ({
      items: (await listFxRates(deps.db, staffActor(request).tenantId)).map(fxRateView),
    }),
  );

  app.post(
    '/fx-rates',
    {
      preHandler: admin,
      schema: {
        tags: ['commissions'],
        summary: 'Set the rate from one currency to another from a day on (lines record the rate they used)',
        body: FxRateBody,
        response: { 201: FxRate, ...Errors },
      },
    },
    async (request, reply) => {
      const { tenantId } = staffActor(request);
      const { status, body } = await idempotentWrite(deps.db, request, tenantId, async (tx) => {
        const row = await addFxRate(tx, { tenantId, ...request.body });
        await writeAudit(tx, auditContext(request), {
          action: 'fx_rate.set',
          subjectType: 'fx_rate',
          subjectId: row.id,
          after: fxRateView(row),
        });
        return { status: 201, body: fxRateView(row) };
      });
      return reply.status(status).send(body);
    },
  );
};
