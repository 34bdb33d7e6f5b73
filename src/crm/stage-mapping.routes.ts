import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import { auditContext, requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { listStageMappings, overrideStageCategory, stageMappingView } from './stage-mapping.repository.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const Category = Type.Union([Type.Literal('open'), Type.Literal('won'), Type.Literal('lost')]);

const Stage = Type.Object({
  pipelineId: Type.String(),
  pipelineLabel: Type.String(),
  stageId: Type.String(),
  stageLabel: Type.String(),
  displayOrder: Type.Integer(),
  isClosed: Type.Boolean(),
  isWon: Type.Union([Type.Boolean(), Type.Null()]),
  probability: Type.Union([Type.String(), Type.Null()]),
  derivedCategory: Category,
  overrideCategory: Type.Union([Category, Type.Null()]),
  category: Category,
  archived: Type.Boolean(),
});
const StageList = Type.Object({ stages: Type.Array(Stage) });

/**
 * How each CRM stage counts for commissions: `won` accrues, `lost` reverses, `open` waits. Derived
 * from the CRM's stage metadata at install and on every re-read; the admin's override wins and
 * survives re-reads.
 */
export const stageMappingRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const managers = requireStaff(deps, ['program_manager']);
  const admin = requireStaff(deps, ['admin']);

  app.get(
    '/crm/stage-mapping',
    {
      preHandler: managers,
      schema: {
        tags: ['crm'],
        summary: 'Every pipeline stage with its category',
        response: { 200: StageList, ...Errors },
      },
    },
    async (request) => {
      const rows = await listStageMappings(deps.db, staffActor(request).tenantId);
      return { stages: rows.map(stageMappingView) };
    },
  );

  app.patch(
    '/crm/stage-mapping',
    {
      preHandler: admin,
      schema: {
        tags: ['crm'],
        summary: "Override stages' categories (admin); null returns a stage to what the CRM implies",
        body: Type.Object(
          {
            stages: Type.Array(
              Type.Object(
                {
                  pipelineId: Type.String({ minLength: 1, maxLength: 100 }),
                  stageId: Type.String({ minLength: 1, maxLength: 100 }),
                  category: Type.Union([Category, Type.Null()]),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: 500 },
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: StageList, ...Errors },
      },
    },
    async (request) => {
      const actor = staffActor(request);
      const { body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        for (const change of request.body.stages) {
          const result = await overrideStageCategory(
            tx,
            actor.tenantId,
            change.pipelineId,
            change.stageId,
            change.category,
          );
          if (!result) {
            throw new AppError('not_found', `No stage ${change.stageId} in pipeline ${change.pipelineId}`);
          }
          await writeAudit(tx, auditContext(request), {
            action: 'crm.stage_mapping.changed',
            subjectType: 'crm_stage',
            subjectId: `${change.pipelineId}/${change.stageId}`,
            before: { override: result.before.override_category },
            after: { override: result.after.override_category },
          });
        }
        const rows = await listStageMappings(tx, actor.tenantId);
        return { status: 200, body: { stages: rows.map(stageMappingView) } };
      });
      return body;
    },
  );
};
