import type { PartnerKind, PartnerRow, PartnerStatus } from './partner.table.ts';

/** A CSV row whose cells are all valid; `undefined` fields belong to columns the file does not have. */
export interface ValidRow {
  line: number;
  externalId: string;
  name: string;
  kind: PartnerKind;
  status: PartnerStatus | undefined;
  tierId: string | null | undefined;
  parentExternalId: string | null | undefined;
  contact: { name: string; email: string } | undefined;
  payoutDetails: Record<string, string> | undefined;
}

type Existing = Pick<PartnerRow, 'id' | 'external_id' | 'parent_id'>;

/**
 * Orders the valid rows so that every row comes after the rows above it in the hierarchy the file
 * describes, and fails (into `failures`, by line) the rows that cannot be placed: a parent that is
 * nowhere, a parent whose row failed, a parent reference that closes a cycle.
 *
 * The hierarchy checked is the one the import would leave: the file's parents for its rows, the
 * current parents for every other partner. Applying rows parents-first means no intermediate state
 * has a cycle either (a row is only moved under a parent whose whole chain is already final).
 * Failing a row gives its partner back its current parent, which can break other rows: so repeat
 * until nothing more fails.
 */
export function planImport(
  candidates: ValidRow[],
  existing: Existing[],
  failures: Map<number, string>,
  lineOf: Map<string, number>,
): ValidRow[] {
  const byExternalId = new Map(existing.flatMap((p) => (p.external_id ? [[p.external_id, p] as const] : [])));
  const byId = new Map(existing.map((p) => [p.id, p]));
  const active = new Map(candidates.map((row) => [row.externalId, row]));
  const keyOf = (row: ValidRow) => byExternalId.get(row.externalId)?.id ?? `new:${row.externalId}`;
  const fail = (row: ValidRow, reason: string) => {
    failures.set(row.line, reason);
    active.delete(row.externalId);
  };

  /** The node a row's partner will hang under, or why it cannot be found. */
  const parentKey = (row: ValidRow): string | null | { problem: string } => {
    const ref = row.parentExternalId;
    if (ref === undefined) return byExternalId.get(row.externalId)?.parent_id ?? null;
    if (ref === null) return null;
    const inFile = active.get(ref);
    if (inFile) return keyOf(inFile);
    const stored = byExternalId.get(ref);
    if (stored) return stored.id;
    const line = lineOf.get(ref);
    return {
      problem:
        line === undefined
          ? `parent "${ref}" is neither in this file nor an existing partner`
          : `parent "${ref}" (line ${line}) has errors`,
    };
  };

  let byKey = new Map<string, ValidRow>();
  const parentOf = (key: string): string | null => {
    const row = byKey.get(key);
    if (row) return parentKey(row) as string | null;
    return byId.get(key)?.parent_id ?? null;
  };
  const label = (key: string) => byKey.get(key)?.externalId ?? byId.get(key)?.external_id ?? key;

  for (let changed = true; changed; ) {
    changed = false;
    for (const row of [...active.values()]) {
      const parent = parentKey(row);
      if (parent !== null && typeof parent === 'object') {
        fail(row, parent.problem);
        changed = true;
      }
    }
    if (changed) continue;
    byKey = new Map([...active.values()].map((row) => [keyOf(row), row]));
    const cycles: { row: ValidRow; path: string[] }[] = [];
    for (const row of active.values()) {
      const start = keyOf(row);
      const path = [start];
      const seen = new Set(path);
      let current = parentOf(start);
      while (current !== null && !seen.has(current)) {
        path.push(current);
        seen.add(current);
        current = parentOf(current);
      }
      if (current === start) cycles.push({ row, path: [...path, start] });
    }
    for (const { row, path } of cycles) {
      fail(row, `the parent references make a cycle: ${path.map(label).join(' → ')}`);
      changed = true;
    }
  }

  byKey = new Map([...active.values()].map((row) => [keyOf(row), row]));
  const depth = new Map<string, number>();
  const depthOf = (key: string): number => {
    let known = depth.get(key);
    if (known === undefined) {
      const parent = parentOf(key);
      known = parent === null ? 0 : depthOf(parent) + 1;
      depth.set(key, known);
    }
    return known;
  };
  return [...active.values()].sort((a, b) => depthOf(keyOf(a)) - depthOf(keyOf(b)) || a.line - b.line);
}
