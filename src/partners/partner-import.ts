import { CsvError, parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import { writeAudit } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { isUniqueViolation, listPartnerLinks } from './partner.repository.ts';
import {
  addContact,
  changeContact,
  changePartner,
  createPartner,
  movePartnerAudited,
  type WriteContext,
} from './partner.service.ts';
import {
  PARTNER_KINDS,
  PARTNER_STATUSES,
  type PartnerKind,
  type PartnerStatus,
  type TierRow,
} from './partner.table.ts';
import { findContactByEmail } from './partner-contact.repository.ts';
import { planImport, type ValidRow } from './partner-import.plan.ts';
import { listTiers } from './tier.repository.ts';

/*
 * Partners from a CSV file. Each row is checked on its own and applied in its own savepoint, so a
 * bad row is reported (with its line; the header is line 1) and the good rows land. Rows match
 * existing partners on external_id, so importing the same file again changes nothing.
 *
 * Cells: an absent column leaves that field alone; an empty `tier`, `parent_external_id` or payout
 * cell clears it; an empty `status` keeps the current status (new partners start `invited`);
 * contacts are added or renamed, never removed.
 */

export const IMPORT_COLUMNS = [
  'external_id',
  'name',
  'kind',
  'tier',
  'status',
  'parent_external_id',
  'contact_name',
  'contact_email',
  'payout_method',
  'payout_reference',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];
const REQUIRED: ImportColumn[] = ['external_id', 'name', 'kind'];

export type RowOutcome = 'created' | 'updated' | 'unchanged' | 'error';

export interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
  errors: { line: number; reason: string }[];
  rows: { line: number; externalId: string; outcome: RowOutcome; partnerId: string | null }[];
}

interface CsvRecord {
  line: number;
  cells: string[];
}

/** A problem with the file as a whole (no header, unknown columns, broken quoting): nothing is imported. */
function fileError(problems: { line: number; reason: string }[]): AppError {
  const fields = problems.map((p) => ({ field: 'body', message: `line ${p.line}: ${p.reason}` }));
  return new AppError('validation_failed', `The CSV file cannot be imported: ${fields[0]?.message}`, {
    fields,
    errors: problems,
  });
}

function readRecords(text: string): CsvRecord[] {
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parse(text, {
      bom: true,
      info: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as unknown as typeof parsed;
  } catch (error) {
    if (error instanceof CsvError) {
      const line = typeof error.lines === 'number' ? error.lines : 1;
      throw fileError([{ line, reason: error.message }]);
    }
    throw error;
  }
  // info.lines is the line a record ends on; a quoted cell may span lines, so count back to its start.
  return parsed.map(({ record, info }) => ({
    line: info.lines - record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0),
    cells: record,
  }));
}

function readHeader(record: CsvRecord | undefined): (ImportColumn | undefined)[] {
  if (!record) throw fileError([{ line: 1, reason: 'the file is empty: a header row is required' }]);
  const problems: { line: number; reason: string }[] = [];
  const seen = new Set<string>();
  const columns = record.cells.map((cell, i) => {
    const name = cell.trim().toLowerCase();
    if (!(IMPORT_COLUMNS as readonly string[]).includes(name)) {
      problems.push({
        line: record.line,
        reason: name
          ? `unknown column "${cell}" (the columns are ${IMPORT_COLUMNS.join(', ')})`
          : `column ${i + 1} has no name`,
      });
      return undefined;
    }
    if (seen.has(name)) problems.push({ line: record.line, reason: `column "${name}" appears twice` });
    seen.add(name);
    return name as ImportColumn;
  });
  for (const required of REQUIRED) {
    if (!seen.has(required))
      problems.push({ line: record.line, reason: `the header lacks the column "${required}"` });
  }
  if (problems.length) throw fileError(problems);
  return columns;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function findTierByName(tiers: TierRow[], name: string): TierRow | undefined {
  return tiers.find((t) => t.name === name) ?? tiers.find((t) => t.name.toLowerCase() === name.toLowerCase());
}

/** One row's cells checked on their own: a row to apply, or every reason it cannot be. */
function checkRow(
  record: CsvRecord,
  columns: (ImportColumn | undefined)[],
  tiers: TierRow[],
): ValidRow | { reasons: string[]; externalId: string } {
  const reasons: string[] = [];
  if (record.cells.length !== columns.length) {
    reasons.push(`expected ${columns.length} fields, found ${record.cells.length}`);
  }
  const has = (column: ImportColumn) => columns.includes(column);
  const cell = (column: ImportColumn) => record.cells[columns.indexOf(column)] ?? '';
  const externalId = cell('external_id');
  const name = cell('name');
  const kind = cell('kind').toLowerCase();
  const status = cell('status').toLowerCase();
  if (!externalId) reasons.push('external_id is empty');
  else if (externalId.length > 200) reasons.push('external_id is longer than 200 characters');
  if (!name) reasons.push('name is empty');
  else if (name.length > 200) reasons.push('name is longer than 200 characters');
  if (!PARTNER_KINDS.includes(kind as PartnerKind)) {
    reasons.push(`kind "${cell('kind')}" is not one of ${PARTNER_KINDS.join(', ')}`);
  }
  if (status && !PARTNER_STATUSES.includes(status as PartnerStatus)) {
    reasons.push(`status "${cell('status')}" is not one of ${PARTNER_STATUSES.join(', ')}`);
  }
  let tierId: string | null | undefined;
  if (has('tier')) {
    const tierName = cell('tier');
    const tier = tierName ? findTierByName(tiers, tierName) : undefined;
    if (tierName && !tier) reasons.push(`tier "${tierName}" does not exist`);
    tierId = tier?.id ?? null;
  }
  let parentExternalId: string | null | undefined;
  if (has('parent_external_id')) {
    parentExternalId = cell('parent_external_id') || null;
    if (parentExternalId !== null && parentExternalId === externalId) {
      reasons.push('parent_external_id is the row itself: a partner cannot be its own parent (cycle)');
    }
  }
  const contactName = cell('contact_name');
  const contactEmail = cell('contact_email').toLowerCase();
  if (contactEmail && !EMAIL.test(contactEmail))
    reasons.push(`contact_email "${cell('contact_email')}" is not an email address`);
  if (contactEmail && !contactName) reasons.push('contact_name is empty but contact_email is given');
  if (contactName && !contactEmail) reasons.push('contact_email is empty but contact_name is given');
  if (contactName.length > 200) reasons.push('contact_name is longer than 200 characters');
  let payoutDetails: Record<string, string> | undefined;
  if (has('payout_method') || has('payout_reference')) {
    const method = cell('payout_method');
    const reference = cell('payout_reference');
    if (method.length > 50) reasons.push('payout_method is longer than 50 characters');
    if (reference.length > 200) reasons.push('payout_reference is longer than 200 characters');
    payoutDetails = { ...(method ? { method } : {}), ...(reference ? { reference } : {}) };
  }
  if (reasons.length) return { reasons, externalId };
  return {
    line: record.line,
    externalId,
    name,
    kind: kind as PartnerKind,
    status: (status || undefined) as PartnerStatus | undefined,
    tierId,
    parentExternalId,
    contact: contactEmail ? { name: contactName, email: contactEmail } : undefined,
    payoutDetails,
  };
}

/**
 * Imports `text` for the tenant of `ctx`, in `tx`. Throws validation_failed for a file that cannot
 * be read as a whole; otherwise returns the per-row report.
 */
export async function importPartnersCsv(tx: Tx, ctx: WriteContext, text: string): Promise<ImportReport> {
  const tenantId = ctx.audit.tenantId;
  const [headerRecord, ...records] = readRecords(text);
  const columns = readHeader(headerRecord);

  // Two imports for one tenant at once would race on the same external ids: take turns.
  await sql`select pg_advisory_xact_lock(hashtextextended(${`partners-import:${tenantId}`}, 0))`.execute(tx);
  const tiers = await listTiers(tx, tenantId);
  const existing = await listPartnerLinks(tx, tenantId);

  const rows: ImportReport['rows'] = [];
  const failures = new Map<number, string>();
  const candidates: ValidRow[] = [];
  const firstLineOf = new Map<string, number>();
  for (const record of records) {
    const checked = checkRow(record, columns, tiers);
    rows.push({ line: record.line, externalId: checked.externalId, outcome: 'error', partnerId: null });
    const earlier = checked.externalId ? firstLineOf.get(checked.externalId) : undefined;
    if (checked.externalId && earlier === undefined) firstLineOf.set(checked.externalId, record.line);
    if ('reasons' in checked) failures.set(record.line, checked.reasons.join('; '));
    else if (earlier !== undefined) {
      failures.set(record.line, `external_id "${checked.externalId}" already appears on line ${earlier}`);
    } else candidates.push(checked);
  }

  const plan = planImport(candidates, existing, failures, firstLineOf);
  // Every partner's id by external id; rows add theirs as they land, so children find new parents.
  const idByExternalId = new Map(existing.flatMap((p) => (p.external_id ? [[p.external_id, p.id]] : [])));
  const rowByLine = new Map(rows.map((row) => [row.line, row]));
  for (const row of plan) {
    await sql`savepoint partner_import_row`.execute(tx);
    try {
      const { outcome, partnerId } = await applyRow(tx, ctx, row, idByExternalId, plan);
      await sql`release savepoint partner_import_row`.execute(tx);
      idByExternalId.set(row.externalId, partnerId);
      Object.assign(rowByLine.get(row.line)!, { outcome, partnerId });
    } catch (error) {
      await sql`rollback to savepoint partner_import_row`.execute(tx);
      if (error instanceof AppError) failures.set(row.line, error.message);
      else if (isUniqueViolation(error)) failures.set(row.line, 'conflicts with another partner or contact');
      else throw error;
    }
  }

  const report: ImportReport = {
    created: rows.filter((r) => r.outcome === 'created').length,
    updated: rows.filter((r) => r.outcome === 'updated').length,
    unchanged: rows.filter((r) => r.outcome === 'unchanged').length,
    errors: [...failures].map(([line, reason]) => ({ line, reason })).sort((a, b) => a.line - b.line),
    rows,
  };
  await writeAudit(tx, ctx.audit, {
    action: 'partner.imported',
    subjectType: 'tenant',
    subjectId: tenantId,
    after: {
      created: report.created,
      updated: report.updated,
      unchanged: report.unchanged,
      errors: report.errors,
    },
  });
  return report;
}

async function applyRow(
  tx: Tx,
  ctx: WriteContext,
  row: ValidRow,
  idByExternalId: Map<string, string>,
  plan: ValidRow[],
): Promise<{ outcome: RowOutcome; partnerId: string }> {
  const tenantId = ctx.audit.tenantId;
  let parentId: string | null | undefined = row.parentExternalId;
  if (row.parentExternalId) {
    parentId = idByExternalId.get(row.parentExternalId);
    if (parentId === undefined) {
      const parentLine = plan.find((r) => r.externalId === row.parentExternalId)?.line;
      throw new AppError(
        'unprocessable',
        `parent "${row.parentExternalId}" (line ${parentLine}) could not be imported`,
      );
    }
  }
  const existingId = idByExternalId.get(row.externalId);
  if (existingId === undefined) {
    const partner = await createPartner(tx, ctx, {
      name: row.name,
      kind: row.kind,
      status: row.status,
      tierId: row.tierId,
      parentId,
      externalId: row.externalId,
      payoutDetails: row.payoutDetails,
    });
    if (row.contact) await addContact(tx, ctx, partner.id, row.contact);
    return { outcome: 'created', partnerId: partner.id };
  }
  const { changed } = await changePartner(tx, ctx, existingId, {
    name: row.name,
    kind: row.kind,
    status: row.status,
    tier_id: row.tierId,
    payout_details: row.payoutDetails === undefined ? undefined : JSON.stringify(row.payoutDetails),
  });
  let touched = changed.length > 0;
  if (parentId !== undefined) {
    const { moved } = await movePartnerAudited(tx, ctx, existingId, parentId);
    touched ||= moved;
  }
  if (row.contact) {
    const contact = await findContactByEmail(tx, tenantId, existingId, row.contact.email);
    if (!contact) {
      await addContact(tx, ctx, existingId, row.contact);
      touched = true;
    } else if (contact.name !== row.contact.name) {
      await changeContact(tx, ctx, contact.id, { name: row.contact.name });
      touched = true;
    }
  }
  return { outcome: touched ? 'updated' : 'unchanged', partnerId: existingId };
}
