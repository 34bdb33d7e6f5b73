import { noSuchColumn, SalesforceError } from './local-salesforce-errors.ts';
import type { SalesforceRecord } from './local-salesforce-records.ts';
import { noContent, ok, type RestRequest, type RestRoute } from './local-salesforce-rest.ts';
import type { FieldSpec, SObjectSpec } from './local-salesforce-schema.ts';
import type { LocalSalesforceState } from './local-salesforce-state.ts';

/**
 * The sObject resources: the version root, `limits`, describeGlobal and describe, and record
 * create / retrieve / update / delete / upsert by external id, with Salesforce's status codes
 * (201 with a save result, 204 on update and delete, 201/200 with `created` on upsert).
 */
const ID = '([a-zA-Z0-9]{15}|[a-zA-Z0-9]{18})';

const sobjectUrl = (version: string, type: string, id?: string) =>
  `/services/data/v${version}/sobjects/${type}${id ? `/${id}` : ''}`;

/** A record as the REST API returns it: `attributes` first, then the fields (all, or those asked). */
export function recordResource(
  version: string,
  spec: SObjectSpec,
  record: SalesforceRecord,
  fields?: string[],
): SalesforceRecord {
  const names = fields ?? spec.fields.map((f) => f.name);
  return {
    attributes: { type: spec.name, url: sobjectUrl(version, spec.name, record.Id as string) },
    ...Object.fromEntries(names.map((name) => [name, record[name] ?? null])),
  };
}

function describeField(f: FieldSpec) {
  const soapType: Record<string, string> = {
    id: 'tns:ID',
    reference: 'tns:ID',
    boolean: 'xsd:boolean',
    double: 'xsd:double',
    currency: 'xsd:double',
    percent: 'xsd:double',
    int: 'xsd:int',
    date: 'xsd:date',
    datetime: 'xsd:dateTime',
    base64: 'xsd:base64Binary',
  };
  return {
    name: f.name,
    label: f.label,
    type: f.type,
    soapType: soapType[f.type] ?? 'xsd:string',
    length: f.length,
    custom: f.custom,
    nillable: f.nillable,
    createable: f.createable,
    updateable: f.updateable,
    defaultedOnCreate: !f.createable || (!f.nillable && !f.required),
    calculated: false,
    externalId: f.externalId,
    idLookup: f.type === 'id' || f.externalId,
    unique: f.unique,
    filterable: f.type !== 'textarea' && f.type !== 'base64',
    sortable: f.type !== 'textarea' && f.type !== 'base64',
    referenceTo: f.referenceTo,
    relationshipName: f.relationshipName,
    precision: f.type === 'currency' ? 18 : 0,
    scale: f.type === 'currency' ? 2 : 0,
    picklistValues: f.picklistValues.map((value) => ({
      active: true,
      defaultValue: false,
      label: value,
      validFor: null,
      value,
    })),
  };
}

function objectSummary(version: string, spec: SObjectSpec) {
  return {
    name: spec.name,
    label: spec.label,
    labelPlural: `${spec.label}s`,
    keyPrefix: spec.keyPrefix,
    custom: false,
    createable: spec.createable,
    updateable: spec.createable,
    deletable: spec.createable,
    queryable: true,
    retrieveable: true,
    searchable: true,
    urls: {
      sobject: sobjectUrl(version, spec.name),
      describe: `${sobjectUrl(version, spec.name)}/describe`,
      rowTemplate: `${sobjectUrl(version, spec.name)}/{ID}`,
    },
  };
}

function limits(state: LocalSalesforceState) {
  const remaining = Math.max(0, state.apiMax - state.apiUsed);
  return {
    DailyApiRequests: { Max: state.apiMax, Remaining: remaining },
    DailyDeliveredPlatformEvents: { Max: 50_000, Remaining: 50_000 },
    DailyStreamingApiEvents: { Max: 1_000_000, Remaining: 1_000_000 },
    DataStorageMB: { Max: 5, Remaining: 5 },
    FileStorageMB: { Max: 20, Remaining: 20 },
    HourlyPublishedPlatformEvents: { Max: 250_000, Remaining: 250_000 },
  };
}

function bodyObject(request: RestRequest): SalesforceRecord {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new SalesforceError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  }
  return body as SalesforceRecord;
}

const saveResult = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  success: true,
  errors: [],
  ...extra,
});

function retrieve(request: RestRequest, type: string, record: SalesforceRecord) {
  const spec = request.state.store.objectOrNotFound(type);
  const asked = request.query.fields?.split(',').map((name) => {
    const f = request.state.store.field(spec, name.trim());
    if (!f) throw noSuchColumn(name.trim(), spec.name);
    return f.name;
  });
  return ok(recordResource(request.version, spec, record, asked));
}

export const sobjectRoutes: RestRoute[] = [
  {
    method: 'GET',
    pattern: /^$/,
    handle: ({ version, state }) => {
      const base = `/services/data/v${version}`;
      const names = ['sobjects', 'query', 'queryAll', 'composite', 'limits', 'search', 'tooling'];
      return ok({
        ...Object.fromEntries(names.map((n) => [n, `${base}/${n}`])),
        identity: `${state.url}/id/${state.orgId}/${state.userId}`,
      });
    },
  },
  { method: 'GET', pattern: /^limits$/, handle: ({ state }) => ok(limits(state)) },
  {
    method: 'GET',
    pattern: /^sobjects$/,
    handle: ({ version, state }) =>
      ok({
        encoding: 'UTF-8',
        maxBatchSize: 200,
        sobjects: state.store.allObjects().map((spec) => objectSummary(version, spec)),
      }),
  },
  {
    method: 'GET',
    pattern: /^sobjects\/(\w+)$/,
    handle: ({ version, state }, [type]) =>
      ok({ objectDescribe: objectSummary(version, state.store.objectOrNotFound(type!)), recentItems: [] }),
  },
  {
    method: 'GET',
    pattern: /^sobjects\/(\w+)\/describe$/,
    handle: ({ version, state }, [type]) => {
      const spec = state.store.objectOrNotFound(type!);
      return ok({
        ...objectSummary(version, spec),
        childRelationships: [],
        fields: spec.fields.map(describeField),
      });
    },
  },
  {
    method: 'POST',
    pattern: /^sobjects\/(\w+)$/,
    handle: (request, [type]) => {
      const fields = bodyObject(request);
      const id = request.write((ctx) => request.state.store.insert(ctx, type!, fields));
      return ok(saveResult(id), 201);
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^sobjects/(\\w+)/${ID}$`),
    handle: (request, [type, id]) => retrieve(request, type!, request.state.store.get(type!, id!)),
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^sobjects/(\\w+)/${ID}$`),
    handle: (request, [type, id]) => {
      const fields = bodyObject(request);
      request.write((ctx) => request.state.store.update(ctx, type!, id!, fields));
      return noContent();
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^sobjects/(\\w+)/${ID}$`),
    handle: (request, [type, id]) => {
      request.write((ctx) => request.state.store.remove(ctx, type!, id!));
      return noContent();
    },
  },
  {
    method: 'GET',
    pattern: /^sobjects\/(\w+)\/(\w+)\/([^/]+)$/,
    handle: (request, [type, fieldName, value]) => {
      const { store } = request.state;
      const spec = store.objectOrNotFound(type!);
      const key = store.field(spec, fieldName!);
      if (!key?.externalId)
        throw new SalesforceError(
          404,
          'NOT_FOUND',
          `Provided external ID field does not exist or is not accessible: ${fieldName}`,
        );
      const matches = store.findBy(spec.name, key.name, value);
      if (matches.length === 0)
        throw new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');
      if (matches.length > 1)
        return ok(
          matches.map((m) => sobjectUrl(request.version, spec.name, m.Id as string)),
          300,
        );
      return retrieve(request, spec.name, matches[0]!);
    },
  },
  {
    method: 'PATCH',
    pattern: /^sobjects\/(\w+)\/(\w+)\/([^/]+)$/,
    handle: (request, [type, fieldName, value]) => {
      const fields = bodyObject(request);
      const result = request.write((ctx) =>
        request.state.store.upsert(ctx, type!, fieldName!, value!, fields),
      );
      return ok(saveResult(result.id, { created: result.created }), result.created ? 201 : 200);
    },
  },
];
