import type { FastifyPluginAsync } from 'fastify';
import { type AreaOptions, portalOf } from './local-hubspot.ts';
import { batchError, sendError } from './local-hubspot-errors.ts';
import {
  ASSOCIATION_TYPES,
  DEFAULT_ASSOCIATION,
  OBJECT_TYPE_IDS,
  type ObjectType,
  parseObjectType,
} from './local-hubspot-state.ts';

interface Spec {
  associationCategory?: string;
  associationTypeId?: number;
}

/** Associations v4: single and batch create (labelled and default) and batch read. */
export const localHubspotAssociations: FastifyPluginAsync<AreaOptions> = async (app) => {
  type Pair = { Params: { from: string; to: string } };

  const types = (from: string, to: string) => {
    const fromType = parseObjectType(from);
    const toType = parseObjectType(to);
    return fromType && toType ? { fromType, toType } : undefined;
  };
  const pairResult = (
    fromType: ObjectType,
    fromId: string,
    toType: ObjectType,
    toId: string,
    labels: string[],
  ) => ({
    fromObjectTypeId: OBJECT_TYPE_IDS[fromType],
    fromObjectId: Number(fromId),
    toObjectTypeId: OBJECT_TYPE_IDS[toType],
    toObjectId: Number(toId),
    labels,
  });

  app.post<Pair & { Body: { inputs?: { from?: { id?: string }; to?: { id?: string }; types?: Spec[] }[] } }>(
    '/crm/v4/associations/:from/:to/batch/create',
    async (request, reply) => {
      const pair = types(request.params.from, request.params.to);
      if (!pair) return sendError(reply, 400, 'VALIDATION_ERROR', 'Unknown object type');
      const portal = portalOf(request);
      const inputs = request.body?.inputs ?? [];
      if (inputs.length === 0 || inputs.length > 100)
        return sendError(reply, 400, 'VALIDATION_ERROR', 'inputs must contain between 1 and 100 items');
      const results = [];
      const errors = [];
      for (const input of inputs) {
        const fromId = String(input.from?.id);
        const toId = String(input.to?.id);
        const fromObject = portal.objects[pair.fromType].get(fromId);
        const toObject = portal.objects[pair.toType].get(toId);
        if (!fromObject || fromObject.archived || !toObject || toObject.archived) {
          errors.push(
            batchError('OBJECT_NOT_FOUND', 'One or more objects do not exist', { ids: [fromId, toId] }),
          );
          continue;
        }
        const bad = (input.types ?? []).find((spec) => {
          const definition = ASSOCIATION_TYPES[spec.associationTypeId ?? -1];
          return !definition || definition[0] !== pair.fromType || definition[1] !== pair.toType;
        });
        if (bad || (input.types ?? []).length === 0) {
          errors.push(
            batchError(
              'VALIDATION_ERROR',
              `Invalid association type ${bad?.associationTypeId} between ${pair.fromType} and ${pair.toType}`,
              {
                ids: [fromId],
              },
            ),
          );
          continue;
        }
        for (const spec of input.types ?? [])
          portal.associate(pair.fromType, fromId, pair.toType, toId, spec.associationTypeId!);
        const labels = (input.types ?? [])
          .map((s) => ASSOCIATION_TYPES[s.associationTypeId!]![3])
          .filter((l): l is string => Boolean(l));
        results.push(pairResult(pair.fromType, fromId, pair.toType, toId, labels));
      }
      const body = {
        status: 'COMPLETE',
        results,
        startedAt: new Date().toISOString(),
        completedAt: new Date().toISOString(),
      };
      if (errors.length > 0) return reply.code(207).send({ ...body, numErrors: errors.length, errors });
      return reply.code(201).send(body);
    },
  );

  app.post<Pair & { Body: { inputs?: { from?: { id?: string }; to?: { id?: string } }[] } }>(
    '/crm/v4/associations/:from/:to/batch/associate/default',
    async (request, reply) => {
      const pair = types(request.params.from, request.params.to);
      const typeId = pair && DEFAULT_ASSOCIATION[`${pair.fromType}:${pair.toType}`];
      if (!pair || !typeId)
        return sendError(reply, 400, 'VALIDATION_ERROR', 'No default association between these types');
      const portal = portalOf(request);
      const results = [];
      for (const input of request.body?.inputs ?? []) {
        const fromId = String(input.from?.id);
        const toId = String(input.to?.id);
        if (!portal.objects[pair.fromType].get(fromId) || !portal.objects[pair.toType].get(toId))
          return sendError(reply, 400, 'VALIDATION_ERROR', `Object ${fromId} or ${toId} does not exist`);
        portal.associate(pair.fromType, fromId, pair.toType, toId, typeId);
        results.push({
          from: { id: fromId },
          to: { id: toId },
          associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId },
        });
      }
      return {
        status: 'COMPLETE',
        results,
        startedAt: new Date().toISOString(),
        completedAt: new Date().toISOString(),
      };
    },
  );

  app.post<Pair & { Body: { inputs?: { id?: string }[] } }>(
    '/crm/v4/associations/:from/:to/batch/read',
    async (request, reply) => {
      const pair = types(request.params.from, request.params.to);
      if (!pair) return sendError(reply, 400, 'VALIDATION_ERROR', 'Unknown object type');
      const portal = portalOf(request);
      const inputs = request.body?.inputs ?? [];
      if (inputs.length > 1000) return sendError(reply, 400, 'VALIDATION_ERROR', 'at most 1000 inputs');
      const results = [];
      const missing: string[] = [];
      for (const input of inputs) {
        const id = String(input.id);
        const targets = portal.associated(pair.fromType, id, pair.toType);
        if (targets.length === 0) {
          missing.push(id);
          continue;
        }
        results.push({
          from: { id },
          to: targets.map((target) => ({
            toObjectId: Number(target.id),
            associationTypes: target.types.map((typeId) => ({
              category: 'HUBSPOT_DEFINED',
              typeId,
              label: ASSOCIATION_TYPES[typeId]?.[3] ?? null,
            })),
          })),
        });
      }
      const body = {
        status: 'COMPLETE',
        results,
        startedAt: new Date().toISOString(),
        completedAt: new Date().toISOString(),
      };
      if (missing.length === 0) return body;
      return reply.code(207).send({
        ...body,
        numErrors: missing.length,
        errors: missing.map((id) =>
          batchError('OBJECT_NOT_FOUND', `No ${pair.toType} is associated with ${pair.fromType} ${id}.`, {
            fromObjectId: [id],
          }),
        ),
      });
    },
  );

  app.put<{ Params: { fromType: string; fromId: string; toType: string; toId: string }; Body: Spec[] }>(
    '/crm/v4/objects/:fromType/:fromId/associations/:toType/:toId',
    async (request, reply) => {
      const pair = types(request.params.fromType, request.params.toType);
      if (!pair) return sendError(reply, 400, 'VALIDATION_ERROR', 'Unknown object type');
      const portal = portalOf(request);
      const { fromId, toId } = request.params;
      if (!portal.objects[pair.fromType].get(fromId) || !portal.objects[pair.toType].get(toId))
        return sendError(reply, 404, 'OBJECT_NOT_FOUND', 'One or more objects do not exist');
      const specs = Array.isArray(request.body) ? request.body : [];
      for (const spec of specs) {
        const definition = ASSOCIATION_TYPES[spec.associationTypeId ?? -1];
        if (!definition || definition[0] !== pair.fromType || definition[1] !== pair.toType)
          return sendError(
            reply,
            400,
            'VALIDATION_ERROR',
            `Invalid association type ${spec.associationTypeId}`,
          );
      }
      for (const spec of specs)
        portal.associate(pair.fromType, fromId, pair.toType, toId, spec.associationTypeId!);
      const labels = specs
        .map((s) => ASSOCIATION_TYPES[s.associationTypeId!]![3])
        .filter((l): l is string => Boolean(l));
      return reply.code(201).send(pairResult(pair.fromType, fromId, pair.toType, toId, labels));
    },
  );
};
