import type { FastifyInstance } from 'fastify';
import { portalOf } from './local-hubspot.ts';
import { sendError } from './local-hubspot-errors.ts';
import { toWire } from './local-hubspot-objects.ts';
import { type CrmObject, type ObjectType, type Portal, parseObjectType } from './local-hubspot-state.ts';

interface Filter {
  propertyName: string;
  operator: string;
  value?: string | number;
  values?: (string | number)[];
  highValue?: string | number;
}

interface SearchRequest {
  filterGroups?: { filters?: Filter[] }[];
  sorts?: ({ propertyName: string; direction?: 'ASCENDING' | 'DESCENDING' } | string)[];
  query?: string;
  properties?: string[];
  limit?: number;
  after?: string | number;
}

const MAX_RESULTS = 10_000;

/** A property value for comparison: numbers and datetimes as numbers, other values lower-cased. */
function comparable(portal: Portal, type: ObjectType, name: string, raw: unknown): number | string | null {
  if (raw === null || raw === undefined || raw === '') return null;
  const kind = portal.properties[type].get(name)?.type;
  const text = String(raw);
  if (kind === 'datetime' || kind === 'date') return /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (kind === 'number') return Number(text);
  return text.toLowerCase();
}

function matches(portal: Portal, type: ObjectType, object: CrmObject, filter: Filter): boolean {
  const name = filter.propertyName;
  const actual = comparable(
    portal,
    type,
    name,
    name === 'hs_object_id' ? object.id : object.properties[name],
  );
  const value = comparable(portal, type, name, filter.value);
  switch (filter.operator) {
    case 'HAS_PROPERTY':
      return actual !== null;
    case 'NOT_HAS_PROPERTY':
      return actual === null;
    case 'EQ':
      return actual !== null && actual === value;
    case 'NEQ':
      return actual !== value;
    case 'IN':
      return (filter.values ?? []).some((v) => comparable(portal, type, name, v) === actual);
    case 'NOT_IN':
      return !(filter.values ?? []).some((v) => comparable(portal, type, name, v) === actual);
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      const pattern = new RegExp(
        `^${String(value ?? '')
          .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')}$`,
      );
      const hit =
        typeof actual === 'string' &&
        actual.split(/[\s@.,;]+/).some((t) => pattern.test(t) || pattern.test(actual));
      return filter.operator === 'CONTAINS_TOKEN' ? hit : !hit;
    }
  }
  if (actual === null || value === null) return false;
  switch (filter.operator) {
    case 'LT':
      return actual < value;
    case 'LTE':
      return actual <= value;
    case 'GT':
      return actual > value;
    case 'GTE':
      return actual >= value;
    case 'BETWEEN': {
      const high = comparable(portal, type, name, filter.highValue);
      return high !== null && actual >= value && actual <= high;
    }
  }
  return false;
}

/** Why HubSpot would refuse this search, or undefined (documented limits). */
function invalid(request: SearchRequest): string | undefined {
  const groups = request.filterGroups ?? [];
  if (groups.length > 5) return 'Too many filter groups: at most 5';
  let total = 0;
  for (const group of groups) {
    const count = group.filters?.length ?? 0;
    if (count > 6) return 'Too many filters in a group: at most 6';
    total += count;
  }
  if (total > 18) return 'Too many filters: at most 18';
  if ((request.sorts?.length ?? 0) > 1) return 'Only one sort is supported';
  const limit = request.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 0 || limit > 200) return 'limit must be between 0 and 200';
  if (Number(request.after ?? 0) + limit > MAX_RESULTS)
    return `The search API returns at most ${MAX_RESULTS} results`;
  return undefined;
}

/** `POST /crm/v3/objects/{objectType}/search`: filter groups are ORed, filters in a group ANDed. */
export function registerSearch(app: FastifyInstance): void {
  app.post<{ Params: { objectType: string }; Body: SearchRequest }>(
    '/crm/v3/objects/:objectType/search',
    async (request, reply) => {
      const type = parseObjectType(request.params.objectType);
      if (!type)
        return sendError(
          reply,
          400,
          'VALIDATION_ERROR',
          `Unable to infer object type from: ${request.params.objectType}`,
        );
      const body = request.body ?? {};
      const problem = invalid(body);
      if (problem) return sendError(reply, 400, 'VALIDATION_ERROR', problem);
      const portal = portalOf(request);
      const groups = (body.filterGroups ?? []).filter((g) => (g.filters?.length ?? 0) > 0);
      const query = body.query?.toLowerCase();
      let found = [...portal.objects[type].values()].filter(
        (object) =>
          !object.archived &&
          (groups.length === 0 ||
            groups.some((g) => g.filters!.every((f) => matches(portal, type, object, f)))) &&
          (!query ||
            ['name', 'domain', 'email', 'dealname', 'firstname', 'lastname'].some((p) =>
              object.properties[p]?.toLowerCase().includes(query),
            )),
      );
      const sort = body.sorts?.[0];
      if (sort) {
        const name = typeof sort === 'string' ? sort.replace(/^-/, '') : sort.propertyName;
        const descending = typeof sort === 'string' ? sort.startsWith('-') : sort.direction === 'DESCENDING';
        found = found.sort((a, b) => {
          const x = comparable(portal, type, name, a.properties[name]);
          const y = comparable(portal, type, name, b.properties[name]);
          const order =
            x === y ? Number(a.id) - Number(b.id) : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
          return descending ? -order : order;
        });
      } else {
        found = found.sort((a, b) => Number(a.id) - Number(b.id));
      }
      const offset = Number(body.after ?? 0);
      const limit = body.limit ?? 10;
      const page = found.slice(offset, offset + limit);
      const next = offset + limit;
      return {
        total: found.length,
        results: page.map((object) => toWire(type, object, body.properties)),
        ...(next < found.length && next < MAX_RESULTS ? { paging: { next: { after: String(next) } } } : {}),
      };
    },
  );
}
