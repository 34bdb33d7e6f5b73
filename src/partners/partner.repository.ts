import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import { AppError } from '../errors/app-error.ts';
import type { Cursor } from '../http/pagination.ts';
import type { PartnerKind, PartnerRow, PartnerStatus, PartnerUpdate } from './partner.table.ts';

/** One page of a list: `limit` rows after `cursor`; the caller asks for limit + 1 to know if more follow. */
export interface PageRequest {
  limit: number;
  cursor?: Cursor | undefined;
}

/*
 * Lists page on (created_at, id) truncated to milliseconds: a cursor carries a JavaScript Date, and
 * rows inserted elsewhere (factories, other features) may carry PostgreSQL's microseconds.
 */
export const pageKey = (table: string) =>
  sql<Date>`date_trunc('milliseconds', ${sql.ref(`${table}.created_at`)})`;
export const afterCursor = (table: string, cursor: Cursor) =>
  sql<boolean>`(${pageKey(table)}, ${sql.ref(`${table}.id`)}) < (${cursor.at}::timestamptz, ${cursor.id}::uuid)`;

/** True for a unique violation, of `constraint` when given (pg and PGlite both report the code). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string } | undefined;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

// ---------------------------------------------------------------------------------------------
// Partners

export interface NewPartner {
  name: string;
  kind: PartnerKind;
  status?: PartnerStatus | undefined;
  tierId?: string | null | undefined;
  parentId?: string | null | undefined;
  externalId?: string | null | undefined;
  payoutDetails?: Record<string, unknown> | undefined;
}

export async function insertPartner(
  db: DbOrTx,
  tenantId: string,
  input: NewPartner,
  now: Date,
): Promise<PartnerRow> {
  return db
    .insertInto('partners')
    .values({
      tenant_id: tenantId,
      name: input.name,
      kind: input.kind,
      status: input.status ?? 'invited',
      tier_id: input.tierId ?? null,
      parent_id: input.parentId ?? null,
      external_id: input.externalId ?? null,
      payout_details: JSON.stringify(input.payoutDetails ?? {}),
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The tenant's partner, or undefined: another tenant's id (or a malformed one) is simply not found. */
export async function findPartner(db: DbOrTx, tenantId: string, id: string): Promise<PartnerRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db
    .selectFrom('partners')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findPartnerByExternalId(
  db: DbOrTx,
  tenantId: string,
  externalId: string,
): Promise<PartnerRow | undefined> {
  return db
    .selectFrom('partners')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
}

/** Every partner of a tenant, reduced to what placing it in the hierarchy needs (CSV import). */
export async function listPartnerLinks(
  db: DbOrTx,
  tenantId: string,
): Promise<Pick<PartnerRow, 'id' | 'external_id' | 'parent_id'>[]> {
  return db
    .selectFrom('partners')
    .select(['id', 'external_id', 'parent_id'])
    .where('tenant_id', '=', tenantId)
    .execute();
}

export interface PartnerFilter {
  /** Direct children of this partner; with `subtree`, the partner and everything below it. */
  parentId?: string | undefined;
  subtree?: boolean | undefined;
  status?: PartnerStatus | undefined;
  kind?: PartnerKind | undefined;
  tierId?: string | undefined;
  /** Only this partner's subtree (a partner contact's view). */
  withinSubtreeOf?: string | undefined;
}

/** Partners newest first; returns up to limit + 1 rows (see pageFrom). */
export async function listPartners(
  db: DbOrTx,
  tenantId: string,
  filter: PartnerFilter,
  page: PageRequest,
): Promise<PartnerRow[]> {
  let query = db.selectFrom('partners').selectAll('partners').where('partners.tenant_id', '=', tenantId);
  if (filter.parentId !== undefined) {
    query = filter.subtree
      ? query.where('partners.id', 'in', partnerSubtreeQuery(db, tenantId, filter.parentId))
      : query.where('partners.parent_id', '=', filter.parentId);
  }
  if (filter.withinSubtreeOf !== undefined) {
    query = query.where('partners.id', 'in', partnerSubtreeQuery(db, tenantId, filter.withinSubtreeOf));
  }
  if (filter.status !== undefined) query = query.where('partners.status', '=', filter.status);
  if (filter.kind !== undefined) query = query.where('partners.kind', '=', filter.kind);
  if (filter.tierId !== undefined) query = query.where('partners.tier_id', '=', filter.tierId);
  if (page.cursor) query = query.where(afterCursor('partners', page.cursor));
  return query
    .orderBy(pageKey('partners'), 'desc')
    .orderBy('partners.id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export type PartnerChanges = Pick<
  PartnerUpdate,
  'name' | 'kind' | 'status' | 'tier_id' | 'external_id' | 'payout_details'
>;

/** Applies `changes` (never the parent: that is movePartner's job, under its locks). */
export async function updatePartner(
  db: DbOrTx,
  tenantId: string,
  id: string,
  changes: PartnerChanges,
  now: Date,
): Promise<PartnerRow | undefined> {
  return db
    .updateTable('partners')
    .set({ ...changes, updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

// ---------------------------------------------------------------------------------------------
// Hierarchy

/**
 * The ids of `rootId` and every partner below it, at any depth, as a subquery to embed:
 * `.where('partner_id', 'in', partnerSubtreeQuery(db, tenantId, rootId))`. Scoping a partner
 * contact's reads this way keeps the rule in the SQL. UNION (not UNION ALL) stops even on a cycle.
 */
export function partnerSubtreeQuery(db: DbOrTx, tenantId: string, rootId: string) {
  return db
    .withRecursive('partner_subtree(id)', (qb) =>
      qb
        .selectFrom('partners')
        .select('partners.id')
        .where('partners.tenant_id', '=', tenantId)
        .where('partners.id', '=', rootId)
        .union((qb2) =>
          qb2
            .selectFrom('partners')
            .innerJoin('partner_subtree', 'partner_subtree.id', 'partners.parent_id')
            .select('partners.id')
            .where('partners.tenant_id', '=', tenantId),
        ),
    )
    .selectFrom('partner_subtree')
    .select('partner_subtree.id');
}

/** Partner `id` if it lies in `rootId`'s subtree (a partner contact reading by id), else undefined. */
export async function findPartnerInSubtree(
  db: DbOrTx,
  tenantId: string,
  rootId: string,
  id: string,
): Promise<PartnerRow | undefined> {
  return db
    .selectFrom('partners')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('id', 'in', partnerSubtreeQuery(db, tenantId, rootId))
    .executeTakeFirst();
}

/** `rootId` and the ids of every partner below it (any depth); empty when the root is not the tenant's. */
export async function partnerSubtreeIds(db: DbOrTx, tenantId: string, rootId: string): Promise<string[]> {
  const rows = await partnerSubtreeQuery(db, tenantId, rootId).execute();
  return rows.map((row) => row.id);
}

/** `id` and its ancestors, nearest first. */
export async function partnerAncestorIds(db: DbOrTx, tenantId: string, id: string): Promise<string[]> {
  const result = await sql<{ id: string }>`
    with recursive chain(id, parent_id, depth) as (
      select id, parent_id, 0 from partners where tenant_id = ${tenantId} and id = ${id}
      union
      select p.id, p.parent_id, c.depth + 1
        from partners p join chain c on p.id = c.parent_id
       where p.tenant_id = ${tenantId} and c.depth < 10000
    )
    select id from chain order by depth`.execute(db);
  return result.rows.map((row) => row.id);
}

export interface MoveResult {
  before: PartnerRow;
  after: PartnerRow;
  moved: boolean;
}

/**
 * Puts `partnerId` under `newParentId` (null: at the top), refusing a move under itself or any of its
 * descendants with `hierarchy_cycle`.
 *
 * Two concurrent moves can each look legal and together make a cycle (A under B while B goes under
 * A). A cycle made of two new edges P1→N1 and P2→N2 needs P2 on N1's ancestor chain and P1 on N2's,
 * so each move locks the moved row and the whole ancestor chain of its new parent: the two moves
 * then share rows and run one after the other. The chain is re-read after each round of locking
 * until every row on it is held, so the check below runs against a chain no one else can change.
 */
export async function movePartner(
  tx: Tx,
  tenantId: string,
  partnerId: string,
  newParentId: string | null,
  now?: Date,
): Promise<MoveResult> {
  if (newParentId === partnerId) {
    throw new AppError('hierarchy_cycle', 'A partner cannot be its own parent', { partnerId, newParentId });
  }
  const locked = new Map<string, PartnerRow>();
  for (let round = 0; ; round++) {
    const chain = newParentId === null ? [] : await partnerAncestorIds(tx, tenantId, newParentId);
    const wanted = new Set([partnerId, ...(newParentId === null ? [] : [newParentId]), ...chain]);
    for (const id of locked.keys()) wanted.delete(id);
    if (wanted.size === 0) break;
    if (round >= 50) throw new AppError('conflict', 'The partner hierarchy keeps changing; try again');
    // One statement, in id order, so two movers take their common rows in the same order.
    const rows = await tx
      .selectFrom('partners')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', [...wanted])
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const row of rows) locked.set(row.id, row);
    if (!locked.has(partnerId)) throw new AppError('not_found', 'Partner not found');
    if (newParentId !== null && !locked.has(newParentId)) {
      throw new AppError('not_found', 'The new parent partner was not found');
    }
    // The chain may have changed while this waited for the locks: read it again, lock what is new.
  }

  const before = locked.get(partnerId)!;
  if (newParentId !== null) {
    const chain = await partnerAncestorIds(tx, tenantId, newParentId);
    if (chain.includes(partnerId)) {
      throw new AppError(
        'hierarchy_cycle',
        'The new parent is below this partner: moving it there would make a cycle',
        { partnerId, newParentId },
      );
    }
  }
  if (before.parent_id === newParentId) return { before, after: before, moved: false };
  const after = await tx
    .updateTable('partners')
    .set({ parent_id: newParentId, updated_at: now ?? sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', partnerId)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { before, after, moved: true };
}
