import type { DbOrTx, Tx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import type { Cursor } from '../http/pagination.ts';
import { afterCursor, pageKey } from '../partners/partner.repository.ts';
import type {
  NewRetainerAgreementRow,
  RetainerAgreementRow,
  RetainerAgreementStatus,
  RetainerAgreementUpdate,
} from './retainer-agreement.table.ts';

export async function insertRetainerAgreement(
  db: DbOrTx,
  values: NewRetainerAgreementRow,
): Promise<RetainerAgreementRow> {
  return db.insertInto('retainer_agreements').values(values).returningAll().executeTakeFirstOrThrow();
}

/** The tenant's agreement, or undefined: another tenant's id is simply not found. */
export async function findRetainerAgreement(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<RetainerAgreementRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db
    .selectFrom('retainer_agreements')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Locks the agreement, so an end and an accrual of the same agreement never interleave. */
export async function lockRetainerAgreement(
  tx: Tx,
  tenantId: string,
  id: string,
): Promise<RetainerAgreementRow | undefined> {
  if (!isUuid(id)) return undefined;
  return tx
    .selectFrom('retainer_agreements')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function updateRetainerAgreement(
  db: DbOrTx,
  tenantId: string,
  id: string,
  changes: RetainerAgreementUpdate,
): Promise<RetainerAgreementRow> {
  return db
    .updateTable('retainer_agreements')
    .set(changes)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface RetainerAgreementFilters {
  partnerId?: string;
  programId?: string;
  status?: RetainerAgreementStatus;
}

/** Newest first, one row more than the limit (pageFrom makes it the next cursor). */
export async function listRetainerAgreements(
  db: DbOrTx,
  tenantId: string,
  filters: RetainerAgreementFilters,
  page: { limit: number; cursor?: Cursor | undefined },
): Promise<RetainerAgreementRow[]> {
  let query = db.selectFrom('retainer_agreements').selectAll().where('tenant_id', '=', tenantId);
  if (filters.partnerId) query = query.where('partner_id', '=', filters.partnerId);
  if (filters.programId) query = query.where('program_id', '=', filters.programId);
  if (filters.status) query = query.where('status', '=', filters.status);
  if (page.cursor) query = query.where(afterCursor('retainer_agreements', page.cursor));
  return query
    .orderBy(pageKey('retainer_agreements'), 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

/**
 * Agreements that may owe a month: begun by `latestDay` (the latest calendar day any time zone is in).
 * Each agreement's tenant calendar and its posted lines decide the rest.
 */
export async function agreementsToAccrue(
  db: DbOrTx,
  latestDay: string,
): Promise<Pick<RetainerAgreementRow, 'id' | 'tenant_id'>[]> {
  return db
    .selectFrom('retainer_agreements')
    .select(['id', 'tenant_id'])
    .where('active_from', '<=', latestDay)
    .orderBy('tenant_id')
    .orderBy('id')
    .execute();
}

/** Of these cause keys, the ones already posted as lines. */
export async function postedCauseKeys(
  db: DbOrTx,
  tenantId: string,
  causeKeys: string[],
): Promise<Set<string>> {
  if (causeKeys.length === 0) return new Set();
  const rows = await db
    .selectFrom('commission_lines')
    .select('cause_key')
    .where('tenant_id', '=', tenantId)
    .where('cause_key', 'in', causeKeys)
    .execute();
  return new Set(rows.map((r) => r.cause_key));
}
