import { noSuchColumn, SalesforceError } from './local-salesforce-errors.ts';
import type { SalesforceRecord, WriteContext } from './local-salesforce-records.ts';
import { ok, type RestRequest, type RestResponse, type RestRoute } from './local-salesforce-rest.ts';
import { recordResource } from './local-salesforce-sobjects.ts';

/**
 * Composite (`composite`: up to 25 subrequests, `@{ref.path}` references, allOrNone rollback,
 * counted as one API call) and sObject Collections (`composite/sobjects`: create, update, upsert
 * by external id, delete and retrieve of up to 200 records, per-record save results).
 */
const MAX_SUBREQUESTS = 25;
const MAX_COLLECTION = 200;

interface SubRequestInput {
  method: string;
  url: string;
  referenceId: string;
  body?: unknown;
  httpHeaders?: Record<string, string>;
}

interface SubResponse {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

const halted = (message: string) => [{ errorCode: 'PROCESSING_HALTED', message }];
const ROLLED_BACK = 'The transaction was rolled back since another operation in the same transaction failed.';

class UnresolvedReference extends Error {}

/** Reads `records[0].Id` / `id` / `Account.Name` from a subresponse body. */
function lookup(body: unknown, path: string): unknown {
  let value: unknown = body;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function resolve(value: unknown, results: Map<string, SubResponse>): unknown {
  if (typeof value === 'string') {
    const whole = /^@\{([\w]+)\.([^}]+)\}$/.exec(value);
    const read = (ref: string, path: string) => {
      const result = results.get(ref);
      const found = result && result.httpStatusCode < 300 ? lookup(result.body, path) : undefined;
      if (found === undefined || found === null)
        throw new UnresolvedReference(
          `Invalid reference specified. No value for ${ref}.${path} found in ${ref}. Provided referenceId ('${ref}') is invalid or ${ref} is not yet processed.`,
        );
      return found;
    };
    if (whole) return read(whole[1]!, whole[2]!);
    return value.replace(/@\{([\w]+)\.([^}]+)\}/g, (_, ref: string, path: string) => String(read(ref, path)));
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, results));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, results)]));
  return value;
}

function subResponse(input: SubRequestInput, response: RestResponse, version: string): SubResponse {
  const headers: Record<string, string> = {};
  const body = response.body as { id?: string } | undefined;
  if (response.status === 201 && body?.id) {
    const type = /sobjects\/(\w+)/.exec(input.url)?.[1];
    headers.Location = `/services/data/v${version}/sobjects/${type}/${body.id}`;
  }
  return {
    body: response.body ?? null,
    httpHeaders: headers,
    httpStatusCode: response.status,
    referenceId: input.referenceId,
  };
}

function checkComposite(body: unknown): { allOrNone: boolean; subrequests: SubRequestInput[] } {
  const input = body as { allOrNone?: boolean; compositeRequest?: SubRequestInput[] } | undefined;
  if (!input || !Array.isArray(input.compositeRequest))
    throw new SalesforceError(400, 'JSON_PARSER_ERROR', 'compositeRequest is required');
  if (input.compositeRequest.length > MAX_SUBREQUESTS)
    throw new SalesforceError(
      400,
      'INVALID_REQUEST',
      `Limit Exceeded: you can't have more than ${MAX_SUBREQUESTS} subrequests`,
    );
  const seen = new Set<string>();
  for (const sub of input.compositeRequest) {
    if (!sub.method || !sub.url || !sub.referenceId)
      throw new SalesforceError(400, 'INVALID_REQUEST', 'Each subrequest needs method, url and referenceId');
    if (seen.has(sub.referenceId))
      throw new SalesforceError(
        400,
        'INVALID_REQUEST',
        `Duplicate referenceId provided in the request: ${sub.referenceId}`,
      );
    seen.add(sub.referenceId);
  }
  return { allOrNone: input.allOrNone === true, subrequests: input.compositeRequest };
}

function composite(request: RestRequest): RestResponse {
  const { allOrNone, subrequests } = checkComposite(request.body);
  const results = new Map<string, SubResponse>();
  const run = (input: SubRequestInput, ctx?: WriteContext): SubResponse => {
    try {
      const url = resolve(input.url, results) as string;
      const body = resolve(input.body, results);
      const response = request.dispatch({ method: input.method, url, body, headers: input.httpHeaders, ctx });
      return subResponse(input, response, request.version);
    } catch (error) {
      if (!(error instanceof UnresolvedReference)) throw error;
      return {
        body: halted(error.message),
        httpHeaders: {},
        httpStatusCode: 400,
        referenceId: input.referenceId,
      };
    }
  };
  if (!allOrNone) {
    for (const input of subrequests) results.set(input.referenceId, run(input));
    return ok({ compositeResponse: [...results.values()] });
  }
  let failed: SubResponse | null = null;
  try {
    request.write((ctx) => {
      for (const input of subrequests) {
        const result = run(input, ctx);
        results.set(input.referenceId, result);
        if (result.httpStatusCode >= 400) {
          failed = result;
          throw new Error('roll back');
        }
      }
    });
  } catch (error) {
    if (!failed) throw error;
  }
  if (!failed) return ok({ compositeResponse: [...results.values()] });
  const failure: SubResponse = failed;
  return ok({
    compositeResponse: subrequests.map((input) =>
      input.referenceId === failure.referenceId
        ? failure
        : { body: halted(ROLLED_BACK), httpHeaders: {}, httpStatusCode: 400, referenceId: input.referenceId },
    ),
  });
}

interface SaveResult {
  id?: string | null;
  success: boolean;
  errors: { statusCode: string; message: string; fields: string[] }[];
  created?: boolean;
}

/** Runs one write per record; allOrNone: all in one transaction, rolled back on the first failure. */
function collection(
  request: RestRequest,
  ids: (string | null)[],
  write: (ctx: WriteContext, i: number) => SaveResult,
  allOrNone: boolean,
) {
  if (ids.length > MAX_COLLECTION)
    throw new SalesforceError(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
    );
  const attempt = (ctx: WriteContext, i: number): SaveResult => {
    try {
      return write(ctx, i);
    } catch (error) {
      if (!(error instanceof SalesforceError)) throw error;
      return {
        ...(ids[i] ? { id: ids[i] } : {}),
        success: false,
        errors: [{ statusCode: error.errorCode, message: error.message, fields: error.fields ?? [] }],
      };
    }
  };
  if (!allOrNone) return ids.map((_, i) => request.write((ctx) => attempt(ctx, i)));
  const results: SaveResult[] = [];
  try {
    request.write((ctx) => {
      for (let i = 0; i < ids.length; i++) {
        const result = attempt(ctx, i);
        results.push(result);
        if (!result.success) throw new Error('roll back');
      }
    });
    return results;
  } catch (error) {
    if (results.at(-1)?.success !== false) throw error;
    const rolledBack = {
      statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      message:
        'Record rolled back because not all records were valid and the request was using AllOrNone header',
      fields: [],
    };
    return ids.map((id, i) =>
      i === results.length - 1
        ? results[i]!
        : { ...(id ? { id } : {}), success: false, errors: [rolledBack] },
    );
  }
}

function recordsOf(request: RestRequest): { allOrNone: boolean; records: SalesforceRecord[] } {
  const body = request.body as { allOrNone?: boolean; records?: SalesforceRecord[] } | undefined;
  if (!body || !Array.isArray(body.records))
    throw new SalesforceError(400, 'JSON_PARSER_ERROR', 'records is required');
  return { allOrNone: body.allOrNone === true, records: body.records };
}

const typeOf = (record: SalesforceRecord, fallback?: string) => {
  const type = (record.attributes as { type?: string } | undefined)?.type ?? fallback;
  if (!type) throw new SalesforceError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
  return type;
};

const fieldsOf = (record: SalesforceRecord) => {
  const { attributes: _a, id: _i, Id: _I, ...fields } = record;
  return fields;
};

function retrieveMany(request: RestRequest, type: string, ids: string[], fields: string[]) {
  const { store } = request.state;
  const spec = store.objectOrNotFound(type);
  const names = fields.map((name) => {
    const f = store.field(spec, name.trim());
    if (!f) throw noSuchColumn(name.trim(), spec.name);
    return f.name;
  });
  return ok(
    ids.map((id) => {
      try {
        return recordResource(request.version, spec, store.get(type, id), names);
      } catch {
        return null;
      }
    }),
  );
}

export const compositeRoutes: RestRoute[] = [
  { method: 'POST', pattern: /^composite$/, handle: (request) => composite(request) },
  {
    method: 'POST',
    pattern: /^composite\/sobjects$/,
    handle: (request) => {
      const { allOrNone, records } = recordsOf(request);
      const { store } = request.state;
      const write = (ctx: WriteContext, i: number) => ({
        id: store.insert(ctx, typeOf(records[i]!), fieldsOf(records[i]!)),
        success: true,
        errors: [],
      });
      return ok(
        collection(
          request,
          records.map(() => null),
          write,
          allOrNone,
        ),
      );
    },
  },
  {
    method: 'PATCH',
    pattern: /^composite\/sobjects$/,
    handle: (request) => {
      const { allOrNone, records } = recordsOf(request);
      const ids = records.map((r) => String(r.id ?? r.Id ?? ''));
      const write = (ctx: WriteContext, i: number) => {
        request.state.store.update(ctx, typeOf(records[i]!), ids[i]!, fieldsOf(records[i]!));
        return { id: ids[i]!, success: true, errors: [] };
      };
      return ok(collection(request, ids, write, allOrNone));
    },
  },
  {
    method: 'PATCH',
    pattern: /^composite\/sobjects\/(\w+)\/(\w+)$/,
    handle: (request, [type, fieldName]) => {
      const { allOrNone, records } = recordsOf(request);
      const write = (ctx: WriteContext, i: number) => {
        const record = records[i]!;
        const key = request.state.store.field(request.state.store.objectOrNotFound(type!), fieldName!);
        const value = key ? record[key.name] : undefined;
        if (value === undefined || value === null)
          throw new SalesforceError(400, 'MISSING_ARGUMENT', `${fieldName} not specified`);
        const result = request.state.store.upsert(
          ctx,
          typeOf(record, type),
          fieldName!,
          String(value),
          fieldsOf(record),
        );
        return { id: result.id, success: true, errors: [], created: result.created };
      };
      return ok(
        collection(
          request,
          records.map(() => null),
          write,
          allOrNone,
        ),
      );
    },
  },
  {
    method: 'DELETE',
    pattern: /^composite\/sobjects$/,
    handle: (request) => {
      const ids = (request.query.ids ?? '').split(',').filter(Boolean);
      const write = (ctx: WriteContext, i: number) => {
        const spec = request.state.store.objectOfId(ids[i]!);
        if (!spec) throw new SalesforceError(400, 'MALFORMED_ID', `malformed id ${ids[i]}`);
        request.state.store.remove(ctx, spec.name, ids[i]!);
        return { id: ids[i]!, success: true, errors: [] };
      };
      return ok(collection(request, ids, write, request.query.allOrNone === 'true'));
    },
  },
  {
    method: 'POST',
    pattern: /^composite\/sobjects\/(\w+)$/,
    handle: (request, [type]) => {
      const body = request.body as { ids?: string[]; fields?: string[] } | undefined;
      return retrieveMany(request, type!, body?.ids ?? [], body?.fields ?? ['Id']);
    },
  },
  {
    method: 'GET',
    pattern: /^composite\/sobjects\/(\w+)$/,
    handle: (request, [type]) =>
      retrieveMany(
        request,
        type!,
        (request.query.ids ?? '').split(','),
        (request.query.fields ?? 'Id').split(','),
      ),
  },
];
