import type { FastifyPluginAsync } from 'fastify';
import type { AreaOptions } from './local-hubspot.ts';
import { sendError } from './local-hubspot-errors.ts';
import { parseObjectType } from './local-hubspot-state.ts';

/**
 * What a user does in HubSpot's own UI, for clicking through by hand (not part of HubSpot's API):
 * `GET /local/portals/:portalId/:objectType` lists the objects, and
 * `PATCH /local/portals/:portalId/:objectType/:id` `{ "properties": { "dealstage": "closedwon" } }`
 * changes one as a user would (change events say `CRM`, so webhooks deliver them).
 */
export const localHubspotUser: FastifyPluginAsync<AreaOptions> = async (app, { state }) => {
  type P = { Params: { portalId: string; objectType: string; id: string } };
  app.get<P>('/local/portals/:portalId/:objectType', async (request, reply) => {
    const type = parseObjectType(request.params.objectType);
    if (!type) return sendError(reply, 400, 'VALIDATION_ERROR', 'unknown object type');
    return { results: [...state.portal(Number(request.params.portalId)).objects[type].values()] };
  });
  app.patch<P & { Body: { properties?: Record<string, string | null> } }>(
    '/local/portals/:portalId/:objectType/:id',
    async (request, reply) => {
      const type = parseObjectType(request.params.objectType);
      const portalId = Number(request.params.portalId);
      if (!type || !state.portal(portalId).objects[type].has(request.params.id))
        return sendError(
          reply,
          404,
          'OBJECT_NOT_FOUND',
          `resource not found, objectId: ${request.params.id}`,
        );
      return state.userUpdate(portalId, type, request.params.id, request.body?.properties ?? {});
    },
  );
};
