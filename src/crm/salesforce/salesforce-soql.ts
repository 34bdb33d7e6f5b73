/**
 * Values inside SOQL text. SOQL has no bind parameters over REST, so every value we put in a query
 * goes through here: string literals escape the backslash first, then quotes and control
 * characters (Salesforce's documented escape sequences); LIKE patterns also escape `%` and `_`,
 * the wildcards, so a domain like `a_b.com` matches only itself. Ids are checked, not escaped.
 */
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

export function soqlString(value: string): string {
  return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (c) => ESCAPES[c]!)}'`;
}

/** A LIKE pattern matching `value` anywhere: `'%value%'` with its own wildcards escaped. */
export function soqlContains(value: string): string {
  const literal = soqlString(value)
    .slice(1, -1)
    .replace(/[%_]/g, (c) => `\\${c}`);
  return `'%${literal}%'`;
}

const SALESFORCE_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

export const isSalesforceId = (value: string) => SALESFORCE_ID.test(value);

/** A list of record ids for `IN (…)`; throws on anything that is not an id (a bug upstream). */
export function soqlIds(ids: readonly string[]): string {
  for (const id of ids)
    if (!isSalesforceId(id)) throw new Error(`not a Salesforce id: ${JSON.stringify(id)}`);
  return `(${ids.map((id) => `'${id}'`).join(', ')})`;
}

/** A dateTime literal (unquoted in SOQL): `2026-12-07T02:00:00.000Z`. */
export const soqlDateTime = (at: Date) => at.toISOString();
