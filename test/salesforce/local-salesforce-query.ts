import { randomBytes } from 'node:crypto';
import { SalesforceError } from './local-salesforce-errors.ts';
import { toId18 } from './local-salesforce-ids.ts';
import type { SalesforceRecord } from './local-salesforce-records.ts';
import { ok, type RestRequest, type RestRoute } from './local-salesforce-rest.ts';
import type { FieldSpec, SObjectSpec } from './local-salesforce-schema.ts';
import { type Condition, type Literal, parseSoql } from './local-salesforce-soql.ts';
import type { LocalSalesforceState } from './local-salesforce-state.ts';
import { isNumericType, isTextType, parseDateTime } from './local-salesforce-values.ts';

/**
 * `query?q=` and `queryAll?q=` (deleted rows too) over the org's records, and the query cursor
 * (`query/01g…-2000`): a result larger than the batch (2000, or `Sforce-Query-Options: batchSize=`
 * between 200 and 2000) answers `done: false` with a `nextRecordsUrl`; cursors live 15 minutes.
 */
const CURSOR_TTL_MS = 15 * 60_000;

interface Cursor {
  rows: SalesforceRecord[];
  batch: number;
  touched: number;
}

const cursors = new WeakMap<LocalSalesforceState, Map<string, Cursor>>();

interface ResolvedPath {
  /** Canonical names: ['Account', 'Name']. */
  names: string[];
  field: FieldSpec;
  read(record: SalesforceRecord): unknown;
}

function invalidField(message: string) {
  return new SalesforceError(400, 'INVALID_FIELD', message);
}

function resolvePath(state: LocalSalesforceState, spec: SObjectSpec, path: string[]): ResolvedPath {
  const { store } = state;
  const [head, ...rest] = path;
  if (rest.length === 0) {
    const f = store.field(spec, head!);
    if (!f) {
      throw invalidField(
        `No such column '${head}' on entity '${spec.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    return { names: [f.name], field: f, read: (record) => record[f.name] ?? null };
  }
  const lookup = spec.fields.find((f) => f.relationshipName?.toLowerCase() === head!.toLowerCase());
  if (!lookup) throw invalidField(`Didn't understand relationship '${head}' in field path.`);
  const targetSpec = store.object(lookup.referenceTo[0]!)!;
  const inner = resolvePath(state, targetSpec, rest);
  return {
    names: [lookup.relationshipName!, ...inner.names],
    field: inner.field,
    read: (record) => {
      const parent = parentOf(state, record, lookup);
      return parent ? inner.read(parent) : null;
    },
  };
}

function parentOf(state: LocalSalesforceState, record: SalesforceRecord, lookup: FieldSpec) {
  const id = record[lookup.name] as string | null;
  const spec = id ? state.store.objectOfId(id) : null;
  return spec ? (state.store.table(spec.name).get(id!) ?? null) : null;
}

const typeName = (f: FieldSpec) =>
  f.type === 'datetime' ? 'dateTime' : isNumericType(f.type) ? 'double' : f.type;

/** The comparable form of a literal for the field, or Salesforce's error for a mismatched literal. */
function literalFor(f: FieldSpec, literal: Literal, like = false): unknown {
  if (literal.type === 'null') return null;
  const mismatch = () => {
    const quoted = isTextType(f.type) ? 'should be enclosed in quotes' : 'should not be enclosed in quotes';
    return invalidField(
      `value of filter criterion for field '${f.name}' must be of type ${typeName(f)} and ${quoted}`,
    );
  };
  if (isTextType(f.type)) {
    if (literal.type !== 'string') throw mismatch();
    if (f.type === 'id' || f.type === 'reference') {
      if (!/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(literal.value))
        throw new SalesforceError(400, 'INVALID_QUERY_FILTER_OPERATOR', `invalid ID field: ${literal.value}`);
      return toId18(literal.value).toLowerCase();
    }
    return (like ? literal.value : plain(literal.value)).toLowerCase();
  }
  if (isNumericType(f.type)) {
    if (literal.type !== 'number') throw mismatch();
    return literal.value;
  }
  if (f.type === 'boolean') {
    if (literal.type !== 'boolean') throw mismatch();
    return literal.value;
  }
  if (literal.type === 'range') return literal;
  if (f.type === 'date' && literal.type === 'date') return Date.parse(`${literal.value}T00:00:00Z`);
  if (f.type === 'datetime' && literal.type === 'datetime') return literal.ms;
  throw mismatch();
}

/** The comparable form of a stored value (lower-case text, 18-char ids, epoch ms for dates). */
function comparable(f: FieldSpec, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (f.type === 'id' || f.type === 'reference') return toId18(String(value)).toLowerCase();
  if (isTextType(f.type)) return String(value).toLowerCase();
  if (f.type === 'date') return Date.parse(`${value}T00:00:00Z`);
  if (f.type === 'datetime') return parseDateTime(String(value));
  return value;
}

/** A LIKE pattern as a regular expression body: `%` any run, `_` one character, `\\%` and `\\_` literal. */
function likePattern(pattern: string): string {
  return (pattern.match(/\\[%_]|[\s\S]/g) ?? [])
    .map((part) => {
      if (part === '%') return '.*';
      if (part === '_') return '.';
      const literal = part.length === 2 ? part[1]! : part;
      return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
}

/** Outside LIKE, `\\%` and `\\_` are plain characters. */
const plain = (value: string) => value.replace(/\\([%_])/g, '$1');

type Predicate = (record: SalesforceRecord) => boolean;

function compile(state: LocalSalesforceState, spec: SObjectSpec, condition: Condition): Predicate {
  if ('left' in condition) {
    const left = compile(state, spec, condition.left);
    const right = compile(state, spec, condition.right);
    return condition.kind === 'and' ? (r) => left(r) && right(r) : (r) => left(r) || right(r);
  }
  if (condition.kind === 'not') {
    const inner = compile(state, spec, condition.condition);
    return (r) => !inner(r);
  }
  const path = resolvePath(state, spec, condition.path);
  const value = (r: SalesforceRecord) => comparable(path.field, path.read(r));
  if (condition.kind === 'in') {
    const wanted = condition.values.map((v) => literalFor(path.field, v));
    return (r) => wanted.includes(value(r)) !== condition.negated;
  }
  const { op } = condition;
  const target = literalFor(path.field, condition.value, op === 'LIKE');
  if (op === 'LIKE') {
    if (!isTextType(path.field.type))
      throw invalidField(`invalid operator on field ${path.field.name}: LIKE`);
    const pattern = likePattern(String(target));
    const regex = new RegExp(`^${pattern}$`, 's');
    return (r) => typeof value(r) === 'string' && regex.test(value(r) as string);
  }
  if (target !== null && typeof target === 'object') {
    const { start, end } = target as { start: number; end: number };
    const tests: Record<string, (v: number) => boolean> = {
      '=': (v) => v >= start && v < end,
      '!=': (v) => v < start || v >= end,
      '<': (v) => v < start,
      '<=': (v) => v < end,
      '>': (v) => v >= end,
      '>=': (v) => v >= start,
    };
    return (r) => {
      const v = value(r);
      return v === null ? op === '!=' : tests[op]!(v as number);
    };
  }
  return (r) => {
    const v = value(r) as number | string | null;
    if (op === '=') return v === target;
    if (op === '!=') return v !== target;
    if (v === null || target === null) return false;
    const t = target as number | string;
    return op === '<' ? v < t : op === '<=' ? v <= t : op === '>' ? v > t : v >= t;
  };
}

/** Projects a record onto the selected paths, nesting relationship fields as Salesforce does. */
function project(
  version: string,
  state: LocalSalesforceState,
  spec: SObjectSpec,
  record: SalesforceRecord,
  paths: ResolvedPath[],
) {
  const out: SalesforceRecord = {
    attributes: { type: spec.name, url: `/services/data/v${version}/sobjects/${spec.name}/${record.Id}` },
  };
  for (const path of paths) {
    if (path.names.length === 1) {
      out[path.names[0]!] = path.read(record);
      continue;
    }
    const lookup = spec.fields.find((f) => f.relationshipName === path.names[0])!;
    const parent = parentOf(state, record, lookup);
    if (!parent) {
      out[path.names[0]!] = null;
      continue;
    }
    const parentSpec = state.store.objectOfId(parent.Id as string)!;
    const existing = out[path.names[0]!] as SalesforceRecord | undefined;
    const inner = resolvePath(state, parentSpec, path.names.slice(1));
    const nested = project(version, state, parentSpec, parent, [inner]);
    out[path.names[0]!] = existing ? { ...existing, ...nested, attributes: nested.attributes } : nested;
  }
  return out;
}

export function runSoql(request: RestRequest, soql: string, includeDeleted: boolean) {
  const { state, version } = request;
  const q = parseSoql(soql);
  const spec = state.store.object(q.from);
  if (!spec) {
    throw new SalesforceError(
      400,
      'INVALID_TYPE',
      `sObject type '${q.from}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  const selected = q.fields.map((p) => resolvePath(state, spec, p));
  const where = q.where ? compile(state, spec, q.where) : () => true;
  let rows = [...state.store.table(spec.name).values()].filter(
    (r) => (includeDeleted || !r.IsDeleted) && where(r),
  );
  const order = q.orderBy.map((item) => ({ ...item, path: resolvePath(state, spec, item.path) }));
  rows.sort((a, b) => {
    for (const { path, descending, nullsLast } of order) {
      const x = comparable(path.field, path.read(a)) as number | string | null;
      const y = comparable(path.field, path.read(b)) as number | string | null;
      if (x === y) continue;
      if (x === null || y === null) return (x === null) === nullsLast ? 1 : -1;
      return (x < y ? -1 : 1) * (descending ? -1 : 1);
    }
    return 0;
  });
  rows = rows.slice(q.offset ?? 0, q.limit === null ? undefined : (q.offset ?? 0) + q.limit);
  if (q.count) return { totalSize: rows.length, done: true, records: [] };
  const projected = rows.map((r) => project(version, state, spec, r, selected));
  return page(request, { rows: projected, batch: batchSize(request), touched: Date.now() }, 0);
}

function batchSize(request: RestRequest): number {
  const asked = /batchSize=(\d+)/i.exec(request.headers['sforce-query-options'] ?? '')?.[1];
  return asked ? Math.min(2000, Math.max(200, Number(asked))) : 2000;
}

function page(request: RestRequest, cursor: Cursor, from: number) {
  const records = cursor.rows.slice(from, from + cursor.batch);
  const done = from + cursor.batch >= cursor.rows.length;
  const result: Record<string, unknown> = { totalSize: cursor.rows.length, done, records };
  if (!done) {
    const open = cursors.get(request.state) ?? new Map<string, Cursor>();
    cursors.set(request.state, open);
    const existing = [...open.entries()].find(([, c]) => c === cursor)?.[0];
    const key = existing ?? `01g${randomBytes(8).toString('hex').slice(0, 15)}`;
    open.set(key, cursor);
    result.nextRecordsUrl = `/services/data/v${request.version}/query/${key}-${from + cursor.batch}`;
  }
  return result;
}

export const queryRoutes: RestRoute[] = [
  {
    method: 'GET',
    pattern: /^(query|queryAll)$/,
    handle: (request, [resource]) => {
      const soql = request.query.q;
      if (!soql) throw new SalesforceError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
      return ok(runSoql(request, soql, resource === 'queryAll'));
    },
  },
  {
    method: 'GET',
    pattern: /^(?:query|queryAll)\/(01g\w+)-(\d+)$/,
    handle: (request, [key, from]) => {
      const cursor = cursors.get(request.state)?.get(key!);
      if (!cursor || Date.now() - cursor.touched > CURSOR_TTL_MS)
        throw new SalesforceError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
      cursor.touched = Date.now();
      return ok(page(request, cursor, Number(from)));
    },
  },
];
