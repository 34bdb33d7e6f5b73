import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { publishEvent } from '../events/publish-event.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { pageFrom } from '../http/pagination.ts';
import {
  enrolPartner,
  findEnrolment,
  findEnrolmentOf,
  findPartner,
  listEnrolments,
  updateEnrolmentStatus,
} from './enrolment.repository.ts';
import { decodeUuidCursor, eligibilityProblems, findProgram } from './program.repository.ts';
import {
  Enrolment,
  EnrolmentCreateBody,
  EnrolmentListQuery,
  EnrolmentPage,
  EnrolmentPatchBody,
  Errors,
  enrolmentView,
  IdParams,
} from './program.schemas.ts';

/**
 * Enrolments: a partner's membership of a program, with the referral code that names both. Staff
 * enrol partners the program's eligibility admits; enrolling one twice returns the first enrolment.
 */
export const enrolmentRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const managers = requireStaff(deps, ['admin', 'program_manager']);
  const anyStaff = requireStaff(deps, ['admin', 'program_manager', 'sales_rep']);
  const view = (row: Parameters<typeof enrolmentView>[0]) => enrolmentView(row, deps.config.publicUrl);

  app.post(
    '/programs/:id/enrolments',
    {
      preHandler: managers,
      schema: {
        tags: ['programs'],
        summary: 'Enrol a partner in a program (admin, program manager)',
        description:
          'Creates the enrolment and its referral code (201). A partner already enrolled gets its ' +
          'existing enrolment back (200). A closed program answers 422 unprocessable; a partner the ' +
          "program's eligibility excludes, 422 not_eligible with the reasons in `details.reasons`.",
        params: IdParams,
        body: EnrolmentCreateBody,
        response: { 200: Enrolment, 201: Enrolment, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const { partnerId } = request.body;
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const program = await findProgram(tx, actor.tenantId, request.params.id);
        if (!program) throw new AppError('not_found', 'Program not found');
        const partner = await findPartner(tx, actor.tenantId, partnerId);
        if (!partner) throw new AppError('not_found', 'Partner not found');
        const existing = await findEnrolmentOf(tx, actor.tenantId, program.id, partner.id);
        if (existing) return { status: 200, body: view(existing) };
        if (program.status === 'closed') {
          throw new AppError('unprocessable', 'The program is closed to new enrolments');
        }
        const reasons = eligibilityProblems(program, partner);
        if (reasons.length > 0) {
          throw new AppError('not_eligible', `The partner cannot join this program: ${reasons.join('; ')}`, {
            reasons,
          });
        }
        const now = deps.services.clock.now();
        const { enrolment, created } = await enrolPartner(tx, {
          tenantId: actor.tenantId,
          programId: program.id,
          partnerId: partner.id,
          now,
        });
        if (!created) return { status: 200, body: view(enrolment) };
        await writeAudit(tx, auditContext(request), {
          action: 'enrolment.created',
          subjectType: 'enrolment',
          subjectId: enrolment.id,
          after: view(enrolment),
        });
        await publishEvent(tx, {
          type: 'enrolment.created',
          tenantId: actor.tenantId,
          subjectId: enrolment.id,
          occurredAt: now,
          data: {
            programId: program.id,
            partnerId: partner.id,
            referralCode: enrolment.referral_code,
            status: enrolment.status,
          },
        });
        return { status: 201, body: view(enrolment) };
      });
      return reply.status(status).send(body);
    },
  );

  app.get(
    '/programs/:id/enrolments',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['programs'],
        summary: "A program's enrolments, newest first",
        params: IdParams,
        querystring: EnrolmentListQuery,
        response: { 200: EnrolmentPage, ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const program = await findProgram(deps.db, tenantId, request.params.id);
      if (!program) throw new AppError('not_found', 'Program not found');
      const limit = request.query.limit ?? 50;
      const rows = await listEnrolments(deps.db, tenantId, program.id, {
        limit,
        ...(request.query.status ? { status: request.query.status } : {}),
        ...(request.query.cursor ? { cursor: decodeUuidCursor(request.query.cursor) } : {}),
      });
      return pageFrom(rows, limit, view);
    },
  );

  app.patch(
    '/enrolments/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['programs'],
        summary: "Change an enrolment's status (admin, program manager)",
        description: 'Only an active enrolment resolves its referral code.',
        params: IdParams,
        body: EnrolmentPatchBody,
        response: { 200: Enrolment, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const before = await findEnrolment(tx, actor.tenantId, request.params.id, { lock: true });
        if (!before) throw new AppError('not_found', 'Enrolment not found');
        if (before.status === request.body.status) return { status: 200, body: view(before) };
        const now = deps.services.clock.now();
        const after = await updateEnrolmentStatus(tx, actor.tenantId, before.id, request.body.status, now);
        if (!after) throw new AppError('not_found', 'Enrolment not found');
        await writeAudit(tx, auditContext(request), {
          action: 'enrolment.updated',
          subjectType: 'enrolment',
          subjectId: after.id,
          before: view(before),
          after: view(after),
        });
        await publishEvent(tx, {
          type: 'enrolment.status_changed',
          tenantId: actor.tenantId,
          subjectId: after.id,
          occurredAt: now,
          data: {
            programId: after.program_id,
            partnerId: after.partner_id,
            from: before.status,
            to: after.status,
          },
        });
        return { status: 200, body: view(after) };
      });
      return reply.status(status).send(body);
    },
  );
};
