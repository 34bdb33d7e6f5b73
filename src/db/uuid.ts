const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True for a well-formed UUID. Ids from a URL or a body are checked with it before they reach a uuid
 * column, where a malformed value would be a database error instead of a plain "not found".
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
