import { noSuchColumn, SalesforceError } from './local-salesforce-errors.ts';
import type { SalesforceRecord, WriteContext } from './local-salesforce-records.ts';
import { ok, type RestRequest, type RestRoute } from './local-salesforce-rest.ts';
import { recordResource } from './local-salesforce-sobjects.ts';

/**
 * sObject Collections (`composite/sobjects`): create, update, upsert by external id, delete and
 * retrieve of up to 200 records in one call, answered with one save result per record
 * (`statusCode` in the errors, as Salesforce's collections write it); under `allOrNone` the first
 * failure rolls back all and the others read ALL_OR_NONE_OPERATION_ROLLED_BACK.
 */
const MAX_COLLECTION = 200;

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

export const collectionRoutes: RestRoute[] = [
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
