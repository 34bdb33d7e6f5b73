import type { FastifyPluginAsync } from 'fastify';
import { type AreaOptions, portalOf } from './local-hubspot.ts';
import { sendError } from './local-hubspot-errors.ts';
import { type Pipeline, parseObjectType } from './local-hubspot-state.ts';

const AT = '2019-08-06T02:41:52.000Z';

function wire(pipeline: Pipeline) {
  return {
    id: pipeline.id,
    label: pipeline.label,
    displayOrder: pipeline.displayOrder,
    createdAt: AT,
    updatedAt: AT,
    archived: false,
    stages: pipeline.stages.map((stage) => ({
      id: stage.id,
      label: stage.label,
      displayOrder: stage.displayOrder,
      metadata: stage.metadata,
      createdAt: AT,
      updatedAt: AT,
      archived: false,
      writePermissions: 'CRM_PERMISSIONS_ENFORCEMENT',
    })),
  };
}

/** `GET /crm/v3/pipelines/{objectType}[/{pipelineId}]`: deal pipelines with stage metadata. */
export const localHubspotPipelines: FastifyPluginAsync<AreaOptions> = async (app) => {
  app.get<{ Params: { objectType: string } }>('/crm/v3/pipelines/:objectType', async (request, reply) => {
    if (parseObjectType(request.params.objectType) !== 'deals')
      return sendError(
        reply,
        400,
        'VALIDATION_ERROR',
        `Unable to infer object type from: ${request.params.objectType}`,
      );
    return { results: portalOf(request).pipelines.map(wire) };
  });
  app.get<{ Params: { objectType: string; pipelineId: string } }>(
    '/crm/v3/pipelines/:objectType/:pipelineId',
    async (request, reply) => {
      const pipeline = portalOf(request).pipelines.find((p) => p.id === request.params.pipelineId);
      if (!pipeline)
        return sendError(
          reply,
          404,
          'OBJECT_NOT_FOUND',
          `Unable to find pipeline ${request.params.pipelineId}`,
        );
      return wire(pipeline);
    },
  );
};
