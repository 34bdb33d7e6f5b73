import type { DbOrTx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import { AppError } from '../errors/app-error.ts';
import { type Cursor, decodeCursor } from '../http/pagination.ts';
import type { PartnerKind, PartnerStatus } from '../partners/partner.table.ts';
import type { NewProgramRow, ProgramRow, ProgramStatus, ProgramUpdate } from './program.table.ts';

/** The tenant's program, or undefined: another tenant's id is simply not found. */
export async function findProgram(db: DbOrTx, tenantId: string, id: string): Promise<ProgramRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db
    .selectFrom('programs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** A list cursor with an id Postgres can compare with a uuid column, or a 400. */
export function decodeUuidCursor(value: string | undefined): Cursor | undefined {
  const cursor = decodeCursor(value);
  if (cursor && !isUuid(cursor.id)) {
    throw new AppError('bad_request', 'The cursor is not one this API gave out', { field: 'query.cursor' });
  }
  return cursor;
}

export async function listPrograms(
  db: DbOrTx,
  tenantId: string,
  options: { status?: ProgramStatus; limit: number; cursor?: Cursor },
): Promise<ProgramRow[]> {
  let query = db.selectFrom('programs').selectAll().where('tenant_id', '=', tenantId);
  if (options.status) query = query.where('status', '=', options.status);
  const { cursor } = options;
  if (cursor) {
    const at = new Date(cursor.at);
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', cursor.id)])]),
    );
  }
  // One row more than asked: pageFrom turns it into the next cursor.
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit + 1)
    .execute();
}

export async function insertProgram(db: DbOrTx, values: NewProgramRow): Promise<ProgramRow> {
  return db.insertInto('programs').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function updateProgram(
  db: DbOrTx,
  tenantId: string,
  id: string,
  changes: ProgramUpdate,
): Promise<ProgramRow | undefined> {
  return db
    .updateTable('programs')
    .set(changes)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Locks the program for a read-modify-write, so two patches cannot interleave their checks. */
export async function findProgramForUpdate(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<ProgramRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db
    .selectFrom('programs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** Of `ids`, those that are tiers of the tenant. */
export async function existingTierIds(db: DbOrTx, tenantId: string, ids: string[]): Promise<Set<string>> {
  const wellFormed = [...new Set(ids.filter((id) => isUuid(id)))];
  if (wellFormed.length === 0) return new Set();
  const rows = await db
    .selectFrom('tiers')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', wellFormed)
    .execute();
  return new Set(rows.map((row) => row.id));
}

/** What eligibility needs of a partner; a PartnerRow fits. */
export interface EligibilityPartner {
  kind: PartnerKind;
  tier_id: string | null;
  status?: PartnerStatus;
}

/** What eligibility needs of a program; a ProgramRow fits. */
export interface EligibilityProgram {
  eligible_kinds: string[];
  eligible_tier_ids: string[];
}

/**
 * Why the program's eligibility excludes the partner; empty when it does not. An empty list of kinds
 * or tiers allows all; a partner without a tier is excluded once the program names tiers.
 */
export function eligibilityProblems(program: EligibilityProgram, partner: EligibilityPartner): string[] {
  const problems: string[] = [];
  if (program.eligible_kinds.length > 0 && !program.eligible_kinds.includes(partner.kind)) {
    problems.push(`partners of kind "${partner.kind}" are not eligible for this program`);
  }
  if (program.eligible_tier_ids.length > 0) {
    if (partner.tier_id === null) problems.push('this program is only for partners in certain tiers');
    else if (!program.eligible_tier_ids.includes(partner.tier_id)) {
      problems.push("the partner's tier is not eligible for this program");
    }
  }
  if (partner.status === 'archived') problems.push('the partner is archived');
  return problems;
}

/** True when the program's eligibility (kinds, tiers) admits the partner. */
export function isPartnerEligible(program: EligibilityProgram, partner: EligibilityPartner): boolean {
  return eligibilityProblems(program, partner).length === 0;
}
