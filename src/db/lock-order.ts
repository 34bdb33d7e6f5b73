/**
 * Strings in UTF-16 code unit order: the one order in which transactions create or lock rows named
 * by text keys (the same in every process, whatever its locale), so two of them never wait on each
 * other's rows in opposite orders.
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
