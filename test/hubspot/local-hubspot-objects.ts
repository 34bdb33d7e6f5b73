import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { type AreaOptions, portalOf } from './local-hubspot.ts';
import { batchError, sendError } from './local-hubspot-errors.ts';
import { registerSearch } from './local-hubspot-search.ts';
import {
  ASSOCIATION_TYPES,
  type CrmObject,
  type LocalHubspotState,
  lastModifiedProperty,
  type ObjectType,
  type Portal,
  parseObjectType,
  READ_ONLY_PROPERTIES,
} from './local-hubspot-state.ts';

const DEFAULT_PROPERTIES: Record<ObjectType, string[]> = {
  deals: [
    'amount',
    'closedate',
    'createdate',
    'dealname',
    'dealstage',
    'hs_lastmodifieddate',
    'hs_object_id',
    'pipeline',
  ],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  notes: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};

/** `properties` as a query string (comma-separated or repeated) or a JSON array. */
export function requestedProperties(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** An object as the API returns it: the requested properties (null when unset) plus the defaults. */
export function toWire(type: ObjectType, object: CrmObject, properties?: string[]) {
  const names = new Set([
    ...(properties ?? DEFAULT_PROPERTIES[type]),
    'hs_object_id',
    'createdate',
    lastModifiedProperty(type),
  ]);
  const out: Record<string, string | null> = {};
  for (const name of names) out[name] = object.properties[name] ?? null;
  return {
    id: object.id,
    properties: out,
    createdAt: object.createdAt,
    updatedAt: object.updatedAt,
    archived: object.archived,
    ...(object.archivedAt ? { archivedAt: object.archivedAt } : {}),
  };
}

interface PropertyProblem {
  isValid: false;
  message: string;
  error: string;
  name: string;
  localizedErrorMessage: string;
}

/** Checks and normalises property values the way HubSpot does (strings; datetimes as ISO). */
export function cleanProperties(
  portal: Portal,
  type: ObjectType,
  input: Record<string, unknown>,
  current?: CrmObject,
): { values: Record<string, string | null> } | { problems: PropertyProblem[] } {
  const problems: PropertyProblem[] = [];
  const values: Record<string, string | null> = {};
  const problem = (name: string, error: string, message: string) =>
    problems.push({ isValid: false, message, error, name, localizedErrorMessage: message });
  for (const [name, raw] of Object.entries(input ?? {})) {
    const definition = portal.properties[type].get(name);
    if (!definition) {
      problem(name, 'PROPERTY_DOESNT_EXIST', `Property "${name}" does not exist`);
      continue;
    }
    if (READ_ONLY_PROPERTIES.has(name)) {
      problem(name, 'READ_ONLY_VALUE', `"${name}" is a read only property; its value cannot be set.`);
      continue;
    }
    if (raw === null || raw === '') {
      values[name] = raw === null ? null : '';
      continue;
    }
    const value = String(raw);
    if (definition.type === 'number' && !/^-?\d+(\.\d+)?$/.test(value)) {
      problem(name, 'INVALID_DOUBLE', `${value} was not a valid number.`);
    } else if (definition.type === 'datetime' || definition.type === 'date') {
      const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
      if (Number.isNaN(ms)) problem(name, 'INVALID_DATE', `${value} was not a valid date.`);
      else values[name] = new Date(ms).toISOString();
      continue;
    } else if (definition.type === 'enumeration' && definition.options.length > 0) {
      if (!definition.options.some((option) => option.value === value))
        problem(name, 'INVALID_OPTION', `${value} was not one of the allowed options`);
    }
    values[name] = value;
  }
  if (type === 'deals') {
    const pipelineId = values.pipeline ?? current?.properties.pipeline ?? 'default';
    const pipeline = portal.pipelines.find((p) => p.id === pipelineId);
    if (!pipeline) problem('pipeline', 'INVALID_OPTION', `${pipelineId} is not a valid pipeline`);
    const stage = values.dealstage;
    if (pipeline && stage && !pipeline.stages.some((s) => s.id === stage))
      problem(
        'dealstage',
        'INVALID_OPTION',
        `${stage} was not one of the allowed options: pipeline ${pipelineId}`,
      );
    if (!current && values.pipeline === undefined) values.pipeline = pipelineId;
  }
  return problems.length > 0 ? { problems } : { values };
}

export function validationMessage(problems: PropertyProblem[]): string {
  return `Property values were not valid: ${JSON.stringify(problems)}`;
}

type CreateInput = {
  properties?: Record<string, unknown>;
  associations?: {
    to?: { id?: string };
    types?: { associationCategory: string; associationTypeId: number }[];
  }[];
};

/** Creates one object (with inline associations), or says why HubSpot would refuse it. */
export function createObject(
  state: LocalHubspotState,
  portal: Portal,
  type: ObjectType,
  input: CreateInput,
): { object: CrmObject } | { status: number; category: 'VALIDATION_ERROR' | 'CONFLICT'; message: string } {
  const cleaned = cleanProperties(portal, type, input.properties ?? {});
  if ('problems' in cleaned)
    return { status: 400, category: 'VALIDATION_ERROR', message: validationMessage(cleaned.problems) };
  const values = cleaned.values;
  if (type === 'deals' && (!values.dealname || !values.dealstage))
    return { status: 400, category: 'VALIDATION_ERROR', message: 'dealname and dealstage are required' };
  if (type === 'notes' && !values.hs_timestamp)
    return { status: 400, category: 'VALIDATION_ERROR', message: 'hs_timestamp is required' };
  if (type === 'contacts' && values.email) {
    const email = values.email.toLowerCase();
    values.email = email;
    for (const existing of portal.objects.contacts.values()) {
      if (!existing.archived && existing.properties.email === email)
        return {
          status: 409,
          category: 'CONFLICT',
          message: `Contact already exists. Existing ID: ${existing.id}`,
        };
    }
  }
  for (const association of input.associations ?? []) {
    for (const spec of association.types ?? []) {
      const definition = ASSOCIATION_TYPES[spec.associationTypeId];
      const target = definition && portal.objects[definition[1]].get(String(association.to?.id));
      if (!definition || definition[0] !== type || !target || target.archived)
        return {
          status: 400,
          category: 'VALIDATION_ERROR',
          message: `Invalid association: type ${spec.associationTypeId} to ${association.to?.id} from ${type}`,
        };
    }
  }
  const at = new Date();
  const object = state.seed(portal.portalId, type, values, at);
  for (const association of input.associations ?? []) {
    for (const spec of association.types ?? []) {
      const toType = ASSOCIATION_TYPES[spec.associationTypeId]![1];
      portal.associate(type, object.id, toType, String(association.to!.id), spec.associationTypeId);
    }
  }
  state.emit({
    portalId: portal.portalId,
    objectType: type,
    objectId: object.id,
    kind: 'creation',
    occurredAt: at.getTime(),
    changeSource: 'INTEGRATION',
    sourceId: String(state.appId),
  });
  return { object };
}

export function updateObject(
  state: LocalHubspotState,
  portal: Portal,
  type: ObjectType,
  object: CrmObject,
  values: Record<string, string | null>,
) {
  const at = new Date();
  const changed = Object.entries(values).filter(([name, value]) => object.properties[name] !== value);
  Object.assign(object.properties, values, { [lastModifiedProperty(type)]: at.toISOString() });
  object.updatedAt = at.toISOString();
  for (const [name, value] of changed) {
    state.emit({
      portalId: portal.portalId,
      objectType: type,
      objectId: object.id,
      kind: 'propertyChange',
      propertyName: name,
      propertyValue: value,
      occurredAt: at.getTime(),
      changeSource: 'INTEGRATION',
      sourceId: String(state.appId),
    });
  }
}

function typeOr400(reply: FastifyReply, raw: string): ObjectType | undefined {
  const type = parseObjectType(raw);
  if (!type) sendError(reply, 400, 'VALIDATION_ERROR', `Unable to infer object type from: ${raw}`);
  return type;
}

const notFound = (reply: FastifyReply, id: string) =>
  sendError(reply, 404, 'OBJECT_NOT_FOUND', `resource not found, objectId: ${id}`);

/** CRM objects: `/crm/v3/objects/{objectType}` CRUD, list, batch read/create/update, and search. */
export const localHubspotObjects: FastifyPluginAsync<AreaOptions> = async (app, { state }) => {
  type P = { Params: { objectType: string; id: string } };
  type Q = {
    Querystring: { properties?: string | string[]; limit?: string; after?: string; archived?: string };
  };

  app.get<P & Q>('/crm/v3/objects/:objectType', async (request, reply) => {
    const type = typeOr400(reply, request.params.objectType);
    if (!type) return reply;
    const limit = Number(request.query.limit ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return sendError(reply, 400, 'VALIDATION_ERROR', 'limit must be between 1 and 100');
    const archived = request.query.archived === 'true';
    const after = Number(request.query.after ?? 0);
    const all = [...portalOf(request).objects[type].values()]
      .filter((o) => o.archived === archived && Number(o.id) >= after)
      .sort((a, b) => Number(a.id) - Number(b.id));
    const page = all.slice(0, limit);
    const properties = requestedProperties(request.query.properties);
    const next = all[limit];
    return {
      results: page.map((o) => toWire(type, o, properties)),
      ...(next ? { paging: { next: { after: next.id, link: `?after=${next.id}` } } } : {}),
    };
  });

  app.get<P & Q>('/crm/v3/objects/:objectType/:id', async (request, reply) => {
    const type = typeOr400(reply, request.params.objectType);
    if (!type) return reply;
    const object = portalOf(request).objects[type].get(request.params.id);
    if (!object || object.archived !== (request.query.archived === 'true'))
      return notFound(reply, request.params.id);
    return toWire(type, object, requestedProperties(request.query.properties));
  });

  app.post<P & { Body: CreateInput }>('/crm/v3/objects/:objectType', async (request, reply) => {
    const type = typeOr400(reply, request.params.objectType);
    if (!type) return reply;
    const created = createObject(state, portalOf(request), type, request.body ?? {});
    if ('status' in created) return sendError(reply, created.status, created.category, created.message);
    return reply.code(201).send(toWire(type, created.object, Object.keys(request.body?.properties ?? {})));
  });

  app.patch<P & { Body: { properties?: Record<string, unknown> } }>(
    '/crm/v3/objects/:objectType/:id',
    async (request, reply) => {
      const type = typeOr400(reply, request.params.objectType);
      if (!type) return reply;
      const portal = portalOf(request);
      const object = portal.objects[type].get(request.params.id);
      if (!object || object.archived) return notFound(reply, request.params.id);
      const cleaned = cleanProperties(portal, type, request.body?.properties ?? {}, object);
      if ('problems' in cleaned)
        return sendError(reply, 400, 'VALIDATION_ERROR', validationMessage(cleaned.problems));
      updateObject(state, portal, type, object, cleaned.values);
      return toWire(type, object, Object.keys(request.body?.properties ?? {}));
    },
  );

  app.delete<P>('/crm/v3/objects/:objectType/:id', async (request, reply) => {
    const type = typeOr400(reply, request.params.objectType);
    if (!type) return reply;
    const portal = portalOf(request);
    const object = portal.objects[type].get(request.params.id);
    if (object && !object.archived) {
      object.archived = true;
      object.archivedAt = new Date().toISOString();
      state.emit({
        portalId: portal.portalId,
        objectType: type,
        objectId: object.id,
        kind: 'deletion',
        occurredAt: Date.now(),
        changeSource: 'INTEGRATION',
        sourceId: String(state.appId),
      });
    }
    return reply.code(204).send();
  });

  app.post<P & { Body: { inputs?: CreateInput[] } }>(
    '/crm/v3/objects/:objectType/batch/create',
    async (request, reply) => {
      const type = typeOr400(reply, request.params.objectType);
      if (!type) return reply;
      const inputs = request.body?.inputs ?? [];
      if (inputs.length === 0 || inputs.length > 100)
        return sendError(reply, 400, 'VALIDATION_ERROR', 'inputs must contain between 1 and 100 items');
      const portal = portalOf(request);
      const startedAt = new Date().toISOString();
      // HubSpot validates the whole batch before creating any of it.
      for (const input of inputs) {
        const cleaned = cleanProperties(portal, type, input.properties ?? {});
        if ('problems' in cleaned)
          return sendError(reply, 400, 'VALIDATION_ERROR', validationMessage(cleaned.problems));
      }
      const results = [];
      for (const input of inputs) {
        const created = createObject(state, portal, type, input);
        if ('status' in created) return sendError(reply, created.status, created.category, created.message);
        results.push(toWire(type, created.object, Object.keys(input.properties ?? {})));
      }
      return reply
        .code(201)
        .send({ status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() });
    },
  );

  app.post<
    P & {
      Body: { inputs?: { id: string }[]; properties?: string[]; idProperty?: string };
      Querystring: { archived?: string };
    }
  >('/crm/v3/objects/:objectType/batch/read', async (request, reply) => {
    const type = typeOr400(reply, request.params.objectType);
    if (!type) return reply;
    const inputs = request.body?.inputs ?? [];
    if (inputs.length > 100) return sendError(reply, 400, 'VALIDATION_ERROR', 'at most 100 inputs');
    const objects = portalOf(request).objects[type];
    const archived = request.query.archived === 'true';
    const idProperty = request.body?.idProperty;
    const find = (key: string) =>
      idProperty
        ? [...objects.values()].find((o) => o.properties[idProperty]?.toLowerCase() === key.toLowerCase())
        : objects.get(key);
    const results = [];
    const missing: string[] = [];
    for (const { id } of inputs) {
      const object = find(String(id));
      if (object && object.archived === archived)
        results.push(toWire(type, object, request.body?.properties));
      else missing.push(String(id));
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
      numErrors: 1,
      errors: [
        batchError(
          'OBJECT_NOT_FOUND',
          `Could not get some ${type} objects, they may be deleted or not exist. Check that ids are valid.`,
          { ids: missing },
        ),
      ],
    });
  });

  app.post<P & { Body: { inputs?: { id: string; properties?: Record<string, unknown> }[] } }>(
    '/crm/v3/objects/:objectType/batch/update',
    async (request, reply) => {
      const type = typeOr400(reply, request.params.objectType);
      if (!type) return reply;
      const inputs = request.body?.inputs ?? [];
      if (inputs.length === 0 || inputs.length > 100)
        return sendError(reply, 400, 'VALIDATION_ERROR', 'inputs must contain between 1 and 100 items');
      const portal = portalOf(request);
      const startedAt = new Date().toISOString();
      const results = [];
      const missing: string[] = [];
      for (const input of inputs) {
        const object = portal.objects[type].get(String(input.id));
        if (!object || object.archived) {
          missing.push(String(input.id));
          continue;
        }
        const cleaned = cleanProperties(portal, type, input.properties ?? {}, object);
        if ('problems' in cleaned)
          return sendError(reply, 400, 'VALIDATION_ERROR', validationMessage(cleaned.problems));
        updateObject(state, portal, type, object, cleaned.values);
        results.push(toWire(type, object, Object.keys(input.properties ?? {})));
      }
      const body = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
      if (missing.length === 0) return body;
      return reply.code(207).send({
        ...body,
        numErrors: 1,
        errors: [batchError('OBJECT_NOT_FOUND', 'Object not found', { ids: missing })],
      });
    },
  );

  registerSearch(app);
};
