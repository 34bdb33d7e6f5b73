import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { pageFrom } from '../http/pagination.ts';
import { decodeUuidCursor } from '../programs/program.repository.ts';
import { findRetainerAgreement, listRetainerAgreements } from './retainer-agreement.repository.ts';
import {
  Errors,
  IdParams,
  RetainerAgreement,
  RetainerAgreementCreateBody,
  RetainerAgreementEndBody,
  RetainerAgreementListQuery,
  RetainerAgreementPage,
  retainerAgreementView,
} from './retainer-agreement.schemas.ts';
import { createRetainerAgreement, endRetainerAgreement } from './retainer-agreement.service.ts';

/**
 * Retainer agreements: a partner paid a fixed amount each month while the agreement is active (the
 * accrual itself is the `commissions.accrue-retainers` job). Admins and program managers only: an
 * agreement commits the program's money.
 */
export const retainerAgreementRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (
  app,
  { deps },
) => {
  const managers = requireStaff(deps, ['admin', 'program_manager']);
  const ctxOf = (request: Parameters<typeof auditContext>[0]) => ({
    services: deps.services,
    audit: auditContext(request),
  });

  app.get(
    '/retainer-agreements',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary: 'List retainer agreements, newest first',
        querystring: RetainerAgreementListQuery,
        response: { 200: RetainerAgreementPage, ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const { limit = 50, cursor, partnerId, programId, status } = request.query;
      const rows = await listRetainerAgreements(
        deps.db,
        tenantId,
        {
          ...(partnerId ? { partnerId } : {}),
          ...(programId ? { programId } : {}),
          ...(status ? { status } : {}),
        },
        { limit, cursor: decodeUuidCursor(cursor) },
      );
      return pageFrom(rows, limit, retainerAgreementView);
    },
  );

  app.get(
    '/retainer-agreements/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary: 'A retainer agreement',
        params: IdParams,
        response: { 200: RetainerAgreement, ...Errors },
      },
    },
    async (request) => {
      const row = await findRetainerAgreement(deps.db, staffActor(request).tenantId, request.params.id);
      if (!row) throw new AppError('not_found', 'Retainer agreement not found');
      return retainerAgreementView(row);
    },
  );

  app.post(
    '/retainer-agreements',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary: 'Create a retainer agreement (a fixed monthly amount, no proration)',
        body: RetainerAgreementCreateBody,
        response: { 201: RetainerAgreement, ...Errors },
      },
    },
    async (request, reply) => {
      const { tenantId } = staffActor(request);
      const body = request.body;
      const { status, body: result } = await idempotentWrite(deps.db, request, tenantId, async (tx) => ({
        status: 201,
        body: retainerAgreementView(
          await createRetainerAgreement(tx, ctxOf(request), {
            tenantId,
            partnerId: body.partnerId,
            programId: body.programId,
            ruleId: body.ruleId ?? null,
            monthlyAmount: BigInt(body.monthlyAmount),
            currency: body.currency ?? null,
            activeFrom: body.activeFrom,
            activeTo: body.activeTo ?? null,
          }),
        ),
      }));
      return reply.status(status).send(result);
    },
  );

  app.post(
    '/retainer-agreements/:id/end',
    {
      preHandler: managers,
      schema: {
        tags: ['commissions'],
        summary: 'End a retainer agreement after a last day (default: today)',
        params: IdParams,
        body: RetainerAgreementEndBody,
        response: { 200: RetainerAgreement, ...Errors },
      },
    },
    async (request, reply) => {
      const { tenantId } = staffActor(request);
      const { status, body } = await idempotentWrite(deps.db, request, tenantId, async (tx) => ({
        status: 200,
        body: retainerAgreementView(
          await endRetainerAgreement(tx, ctxOf(request), {
            tenantId,
            agreementId: request.params.id,
            lastDay: request.body?.lastDay,
          }),
        ),
      }));
      return reply.status(status).send(body);
    },
  );
};
