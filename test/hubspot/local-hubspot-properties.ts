import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { type AreaOptions, portalOf } from './local-hubspot.ts';
import { batchError, sendError } from './local-hubspot-errors.ts';
import {
  type ObjectType,
  type Portal,
  type PropertyDefinition,
  parseObjectType,
} from './local-hubspot-state.ts';

const TYPES = new Set(['string', 'number', 'date', 'datetime', 'enumeration', 'bool']);
const FIELD_TYPES = new Set([
  'text',
  'textarea',
  'number',
  'date',
  'select',
  'radio',
  'checkbox',
  'booleancheckbox',
  'html',
  'phonenumber',
  'file',
  'calculation_equation',
]);

type PropertyCreate = Partial<PropertyDefinition> & Record<string, unknown>;

function wire(property: PropertyDefinition) {
  return {
    ...property,
    calculated: false,
    externalOptions: false,
    archived: false,
    hidden: false,
    formField: !property.hubspotDefined,
    modificationMetadata: {
      archivable: !property.hubspotDefined,
      readOnlyDefinition: property.hubspotDefined,
      readOnlyValue: false,
    },
  };
}

/** Why HubSpot would refuse this property, or undefined. */
function invalid(portal: Portal, type: ObjectType, input: PropertyCreate): string | undefined {
  for (const field of ['name', 'label', 'type', 'fieldType', 'groupName'] as const) {
    if (typeof input[field] !== 'string' || input[field] === '') return `${field} is required`;
  }
  if (!/^[a-z][a-z0-9_]*$/.test(input.name!)) return `Property name ${input.name} is not valid`;
  if (!TYPES.has(input.type!)) return `${input.type} is not a valid property type`;
  if (!FIELD_TYPES.has(input.fieldType!)) return `${input.fieldType} is not a valid field type`;
  if ((input.type === 'enumeration' || input.type === 'bool') && !(input.options?.length ?? 0))
    return `Property ${input.name} of type ${input.type} requires options`;
  if (!portal.groups[type].has(input.groupName!)) return `Property group ${input.groupName} does not exist`;
  return undefined;
}

function define(portal: Portal, type: ObjectType, input: PropertyCreate): PropertyDefinition {
  const now = new Date().toISOString();
  const property: PropertyDefinition = {
    name: input.name!,
    label: input.label!,
    type: input.type!,
    fieldType: input.fieldType!,
    groupName: input.groupName!,
    description: input.description ?? '',
    options: input.options ?? [],
    displayOrder: input.displayOrder ?? -1,
    hasUniqueValue: input.hasUniqueValue ?? false,
    hubspotDefined: false,
    createdAt: now,
    updatedAt: now,
  };
  portal.properties[type].set(property.name, property);
  return property;
}

function objectTypeOr400(reply: FastifyReply, raw: string): ObjectType | undefined {
  const type = parseObjectType(raw);
  if (!type) sendError(reply, 400, 'VALIDATION_ERROR', `Unable to infer object type from: ${raw}`);
  return type;
}

/** Properties and property groups: `/crm/v3/properties/{objectType}[/groups|/batch/*]`. */
export const localHubspotProperties: FastifyPluginAsync<AreaOptions> = async (app) => {
  type P = { Params: { objectType: string; name: string } };

  app.get<P>('/crm/v3/properties/:objectType/groups', async (request, reply) => {
    const type = objectTypeOr400(reply, request.params.objectType);
    if (!type) return reply;
    return { results: [...portalOf(request).groups[type].values()] };
  });
  app.get<P>('/crm/v3/properties/:objectType/groups/:name', async (request, reply) => {
    const type = objectTypeOr400(reply, request.params.objectType);
    if (!type) return reply;
    const group = portalOf(request).groups[type].get(request.params.name);
    if (!group)
      return sendError(
        reply,
        404,
        'OBJECT_NOT_FOUND',
        `Unable to find property group ${request.params.name}`,
      );
    return group;
  });
  app.post<P & { Body: { name?: string; label?: string; displayOrder?: number } }>(
    '/crm/v3/properties/:objectType/groups',
    async (request, reply) => {
      const type = objectTypeOr400(reply, request.params.objectType);
      if (!type) return reply;
      const { name, label, displayOrder } = request.body ?? {};
      if (!name || !label) return sendError(reply, 400, 'VALIDATION_ERROR', 'name and label are required');
      const groups = portalOf(request).groups[type];
      if (groups.has(name))
        return sendError(
          reply,
          409,
          'OBJECT_ALREADY_EXISTS',
          `A property group named '${name}' already exists.`,
        );
      const group = { name, label, displayOrder: displayOrder ?? -1, archived: false };
      groups.set(name, group);
      return reply.code(201).send(group);
    },
  );

  app.get<P>('/crm/v3/properties/:objectType', async (request, reply) => {
    const type = objectTypeOr400(reply, request.params.objectType);
    if (!type) return reply;
    return { results: [...portalOf(request).properties[type].values()].map(wire) };
  });
  app.get<P>('/crm/v3/properties/:objectType/:name', async (request, reply) => {
    const type = objectTypeOr400(reply, request.params.objectType);
    if (!type) return reply;
    const property = portalOf(request).properties[type].get(request.params.name);
    if (!property)
      return sendError(reply, 404, 'OBJECT_NOT_FOUND', `Unable to find property ${request.params.name}`);
    return wire(property);
  });
  app.post<P & { Body: PropertyCreate }>('/crm/v3/properties/:objectType', async (request, reply) => {
    const type = objectTypeOr400(reply, request.params.objectType);
    if (!type) return reply;
    const portal = portalOf(request);
    const input = request.body ?? {};
    const problem = invalid(portal, type, input);
    if (problem) return sendError(reply, 400, 'VALIDATION_ERROR', problem);
    if (portal.properties[type].has(input.name!))
      return sendError(reply, 409, 'OBJECT_ALREADY_EXISTS', `Property named '${input.name}' already exists.`);
    return reply.code(201).send(wire(define(portal, type, input)));
  });

  app.post<P & { Body: { inputs?: PropertyCreate[] } }>(
    '/crm/v3/properties/:objectType/batch/create',
    async (request, reply) => {
      const type = objectTypeOr400(reply, request.params.objectType);
      if (!type) return reply;
      const portal = portalOf(request);
      const inputs = request.body?.inputs ?? [];
      const startedAt = new Date().toISOString();
      const results = [];
      const errors = [];
      for (const input of inputs) {
        const problem = invalid(portal, type, input);
        if (problem) errors.push(batchError('VALIDATION_ERROR', problem, { name: [String(input.name)] }));
        else if (portal.properties[type].has(input.name!))
          errors.push(
            batchError('OBJECT_ALREADY_EXISTS', `Property named '${input.name}' already exists.`, {
              name: [input.name!],
            }),
          );
        else results.push(wire(define(portal, type, input)));
      }
      const body = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
      if (errors.length > 0) return reply.code(207).send({ ...body, numErrors: errors.length, errors });
      return reply.code(201).send(body);
    },
  );
  app.post<P & { Body: { inputs?: { name: string }[] } }>(
    '/crm/v3/properties/:objectType/batch/read',
    async (request, reply) => {
      const type = objectTypeOr400(reply, request.params.objectType);
      if (!type) return reply;
      const properties = portalOf(request).properties[type];
      const wanted = (request.body?.inputs ?? []).map((input) => input.name);
      const found = wanted.filter((name) => properties.has(name));
      const missing = wanted.filter((name) => !properties.has(name));
      const body = {
        status: 'COMPLETE',
        results: found.map((name) => wire(properties.get(name)!)),
        startedAt: new Date().toISOString(),
        completedAt: new Date().toISOString(),
      };
      if (missing.length === 0) return body;
      return reply.code(207).send({
        ...body,
        numErrors: 1,
        errors: [batchError('OBJECT_NOT_FOUND', 'Could not find properties', { names: missing })],
      });
    },
  );
};
