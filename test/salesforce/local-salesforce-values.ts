import { SalesforceError } from './local-salesforce-errors.ts';
import { looksLikeId, toId18 } from './local-salesforce-ids.ts';
import type { FieldSpec } from './local-salesforce-schema.ts';

/** Salesforce's datetime wire format: `2026-12-07T02:38:35.000+0000`. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** Milliseconds of a datetime as Salesforce accepts it (`Z`, `+0000`, `+01:00`, with or without ms). */
export function parseDateTime(value: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/.exec(value);
  if (!m) return null;
  const zone = m[4] === 'Z' ? 'Z' : `${m[4]!.slice(0, 3)}:${m[4]!.slice(-2)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[3] ?? ''}${zone}`);
  return Number.isNaN(ms) ? null : ms;
}

export function isDate(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
}

const NUMERIC = new Set(['double', 'currency', 'percent', 'int']);
const TEXT = new Set([
  'string',
  'textarea',
  'picklist',
  'email',
  'phone',
  'url',
  'base64',
  'id',
  'reference',
]);

export const isNumericType = (type: string) => NUMERIC.has(type);
export const isTextType = (type: string) => TEXT.has(type);

const soapType: Record<string, string> = {
  double: 'double',
  currency: 'double',
  percent: 'double',
  int: 'int',
  boolean: 'boolean',
  date: 'date',
  datetime: 'dateTime',
};

function deserializeError(spec: FieldSpec, value: unknown): SalesforceError {
  const kind =
    typeof value === 'string'
      ? 'VALUE_STRING'
      : typeof value === 'number'
        ? 'VALUE_NUMBER_INT'
        : 'START_OBJECT';
  return new SalesforceError(
    400,
    'JSON_PARSER_ERROR',
    `Cannot deserialize instance of ${soapType[spec.type] ?? 'string'} from ${kind} value ${String(value)} or request may be missing a required field`,
  );
}

/** The stored form of a value written to a field, or the error Salesforce answers for it. */
export function coerceFieldValue(spec: FieldSpec, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (NUMERIC.has(spec.type)) {
    const n =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value)
          : NaN;
    if (!Number.isFinite(n)) throw deserializeError(spec, value);
    return spec.type === 'int' ? Math.trunc(n) : n;
  }
  if (spec.type === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw deserializeError(spec, value);
  }
  if (spec.type === 'date') {
    if (typeof value === 'string' && isDate(value)) return value;
    if (typeof value === 'string' && parseDateTime(value) !== null) return value.slice(0, 10);
    throw deserializeError(spec, value);
  }
  if (spec.type === 'datetime') {
    const ms = typeof value === 'string' ? parseDateTime(value) : typeof value === 'number' ? value : null;
    if (ms === null) throw deserializeError(spec, value);
    return formatDateTime(ms);
  }
  if (typeof value === 'object') throw deserializeError(spec, value);
  const text = String(value);
  if (spec.type === 'reference') {
    if (text === '') return null;
    if (!looksLikeId(text))
      throw new SalesforceError(400, 'MALFORMED_ID', `${spec.label}: id value of incorrect type: ${text}`, [
        spec.name,
      ]);
    return toId18(text);
  }
  if (spec.length > 0 && text.length > spec.length) {
    throw new SalesforceError(
      400,
      'STRING_TOO_LONG',
      `${spec.label}: data value too large: ${text.slice(0, 40)} (max length=${spec.length})`,
      [spec.name],
    );
  }
  return text === '' ? null : text;
}
