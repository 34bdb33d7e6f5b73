import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { pageFrom } from '../http/pagination.ts';
import { findTenant } from '../tenants/tenant.repository.ts';
import { enrolmentRoutes } from './enrolment.routes.ts';
import {
  decodeUuidCursor,
  findProgram,
  findProgramForUpdate,
  insertProgram,
  listPrograms,
  updateProgram,
} from './program.repository.ts';
import { programInputProblems, validationFailed } from './program.rules.ts';
import {
  Errors,
  IdParams,
  Program,
  ProgramCreateBody,
  ProgramListQuery,
  ProgramPage,
  type ProgramPatch,
  ProgramPatchBody,
  programView,
} from './program.schemas.ts';
import type { FormField, ProgramUpdate } from './program.table.ts';

const unique = <T>(items: T[]): T[] => [...new Set(items)];

/** Stored form fields are explicit: `required` always set, `options` only on select fields. */
function formFieldsJson(fields: NonNullable<ProgramPatch['formFields']>): string {
  const stored: FormField[] = fields.map((f) => ({
    key: f.key,
    label: f.label,
    type: f.type,
    required: f.required ?? false,
    ...(f.type === 'select' ? { options: f.options ?? [] } : {}),
  }));
  return JSON.stringify(stored);
}

/** The columns a patch body changes; absent fields stay as they are. */
function programChanges(body: ProgramPatch): ProgramUpdate {
  const changes: ProgramUpdate = {};
  if (body.name !== undefined) changes.name = body.name;
  if (body.status !== undefined) changes.status = body.status;
  if (body.startsOn !== undefined) changes.starts_on = body.startsOn;
  if (body.endsOn !== undefined) changes.ends_on = body.endsOn;
  if (body.eligibleKinds !== undefined) changes.eligible_kinds = JSON.stringify(unique(body.eligibleKinds));
  if (body.eligibleTierIds !== undefined) {
    changes.eligible_tier_ids = JSON.stringify(unique(body.eligibleTierIds));
  }
  if (body.protectionDays !== undefined) changes.protection_days = body.protectionDays;
  if (body.holdDays !== undefined) changes.hold_days = body.holdDays;
  if (body.minimumPayout !== undefined) changes.minimum_payout = BigInt(body.minimumPayout);
  if (body.currency !== undefined) changes.currency = body.currency;
  if (body.formFields !== undefined) changes.form_fields = formFieldsJson(body.formFields);
  if (body.autoApprove !== undefined) {
    const { whenClear, tierIds } = body.autoApprove;
    changes.auto_approve = JSON.stringify({
      ...(whenClear !== undefined ? { whenClear } : {}),
      ...(tierIds !== undefined ? { tierIds: unique(tierIds) } : {}),
    });
  }
  if (body.commissionPlanId !== undefined) changes.commission_plan_id = body.commissionPlanId;
  return changes;
}

/**
 * Programs: their rules (dates, eligibility, protection and hold periods, minimum payout, currency,
 * registration form, auto-approval). Any staff member reads; admins and program managers write.
 * Enrolments and referral codes are in enrolment.routes.ts.
 */
export const programRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const managers = requireStaff(deps, ['admin', 'program_manager']);
  const anyStaff = requireStaff(deps, ['admin', 'program_manager', 'sales_rep']);

  app.get(
    '/programs',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['programs'],
        summary: 'List programs, newest first',
        querystring: ProgramListQuery,
        response: { 200: ProgramPage, ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const limit = request.query.limit ?? 50;
      const rows = await listPrograms(deps.db, tenantId, {
        limit,
        ...(request.query.status ? { status: request.query.status } : {}),
        ...(request.query.cursor ? { cursor: decodeUuidCursor(request.query.cursor) } : {}),
      });
      return pageFrom(rows, limit, programView);
    },
  );

  app.get(
    '/programs/:id',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['programs'],
        summary: 'A program',
        params: IdParams,
        response: { 200: Program, ...Errors },
      },
    },
    async (request) => {
      const program = await findProgram(deps.db, staffActor(request).tenantId, request.params.id);
      if (!program) throw new AppError('not_found', 'Program not found');
      return programView(program);
    },
  );

  app.post(
    '/programs',
    {
      preHandler: managers,
      schema: {
        tags: ['programs'],
        summary: 'Create a program (admin, program manager)',
        description:
          'Every problem of the body is reported at once in `details.fields`. Defaults: status active, ' +
          "protectionDays 90, holdDays 30, minimumPayout 0, currency the tenant's.",
        body: ProgramCreateBody,
        response: { 201: Program, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const body = request.body;
      const { status, body: created } = await idempotentWrite(
        deps.db,
        request,
        actor.tenantId,
        async (tx) => {
          const problems = await programInputProblems(tx, actor.tenantId, body);
          if (problems.length > 0) throw validationFailed(problems);
          const tenant = await findTenant(tx, actor.tenantId);
          if (!tenant) throw new AppError('not_found', 'Tenant not found');
          const now = deps.services.clock.now();
          const row = await insertProgram(tx, {
            tenant_id: actor.tenantId,
            name: body.name,
            status: 'active',
            starts_on: null,
            ends_on: null,
            eligible_kinds: '[]',
            eligible_tier_ids: '[]',
            currency: tenant.currency,
            form_fields: '[]',
            auto_approve: '{}',
            commission_plan_id: null,
            ...programChanges(body),
            created_at: now,
            updated_at: now,
          });
          const view = programView(row);
          await writeAudit(tx, auditContext(request), {
            action: 'program.created',
            subjectType: 'program',
            subjectId: row.id,
            after: view,
          });
          return { status: 201, body: view };
        },
      );
      return reply.status(status).send(created);
    },
  );

  app.patch(
    '/programs/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['programs'],
        summary: 'Change a program (admin, program manager)',
        description: 'Only the fields sent change; every problem is reported at once in `details.fields`.',
        params: IdParams,
        body: ProgramPatchBody,
        response: { 200: Program, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const body = request.body;
      const { status, body: updated } = await idempotentWrite(
        deps.db,
        request,
        actor.tenantId,
        async (tx) => {
          const before = await findProgramForUpdate(tx, actor.tenantId, request.params.id);
          if (!before) throw new AppError('not_found', 'Program not found');
          const problems = await programInputProblems(tx, actor.tenantId, body, {
            startsOn: before.starts_on,
            endsOn: before.ends_on,
          });
          if (problems.length > 0) throw validationFailed(problems);
          const after = await updateProgram(tx, actor.tenantId, before.id, {
            ...programChanges(body),
            updated_at: deps.services.clock.now(),
          });
          if (!after) throw new AppError('not_found', 'Program not found');
          const view = programView(after);
          await writeAudit(tx, auditContext(request), {
            action: 'program.updated',
            subjectType: 'program',
            subjectId: after.id,
            before: programView(before),
            after: view,
          });
          return { status: 200, body: view };
        },
      );
      return reply.status(status).send(updated);
    },
  );

  await app.register(enrolmentRoutes, { deps });
};
