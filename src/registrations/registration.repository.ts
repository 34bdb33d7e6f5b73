import type { DbOrTx, Tx } from '../db/database.ts';
import type { Cursor } from '../http/pagination.ts';
import { partnerSubtreeQuery } from '../partners/partner.repository.ts';
import type {
  CheckOutcome,
  NewRegistrationRow,
  RegistrationRow,
  RegistrationStatus,
  RegistrationUpdate,
} from './registration.table.ts';

/**
 * Who may see a registration beyond the tenant: a partner contact sees its partner's subtree only,
 * as a sub-select of the same statement, so the database enforces it.
 */
export interface RegistrationScope {
  partnerRootId?: string;
}

export async function findRegistration(
  db: DbOrTx,
  tenantId: string,
  id: string,
  scope?: RegistrationScope,
): Promise<RegistrationRow | undefined> {
  let query = db
    .selectFrom('registrations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id);
  if (scope?.partnerRootId)
    query = query.where('partner_id', 'in', partnerSubtreeQuery(db, tenantId, scope.partnerRootId));
  return query.executeTakeFirst();
}

/** The registration, locked until the transaction ends: every state change starts here. */
export async function lockRegistration(
  tx: Tx,
  tenantId: string,
  id: string,
  scope?: RegistrationScope,
): Promise<RegistrationRow | undefined> {
  let query = tx
    .selectFrom('registrations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id);
  if (scope?.partnerRootId)
    query = query.where('partner_id', 'in', partnerSubtreeQuery(tx, tenantId, scope.partnerRootId));
  return query.forUpdate().executeTakeFirst();
}

export interface RegistrationFilters {
  status?: RegistrationStatus;
  programId?: string;
  partnerId?: string;
  checkOutcome?: CheckOutcome;
  /** created_at ≥ this instant. */
  createdFrom?: Date;
  /** created_at < this instant. */
  createdBefore?: Date;
}

/** One page (plus one row, to know whether there is a next) ordered by (created_at desc, id desc). */
export async function listRegistrations(
  db: DbOrTx,
  tenantId: string,
  filters: RegistrationFilters,
  page: { limit: number; after?: Cursor | undefined },
  scope?: RegistrationScope,
): Promise<RegistrationRow[]> {
  let query = db.selectFrom('registrations').selectAll().where('tenant_id', '=', tenantId);
  if (scope?.partnerRootId)
    query = query.where('partner_id', 'in', partnerSubtreeQuery(db, tenantId, scope.partnerRootId));
  if (filters.status) query = query.where('status', '=', filters.status);
  if (filters.programId) query = query.where('program_id', '=', filters.programId);
  if (filters.partnerId) query = query.where('partner_id', '=', filters.partnerId);
  if (filters.checkOutcome) query = query.where('check_outcome', '=', filters.checkOutcome);
  if (filters.createdFrom) query = query.where('created_at', '>=', filters.createdFrom);
  if (filters.createdBefore) query = query.where('created_at', '<', filters.createdBefore);
  const after = page.after;
  if (after) {
    // created_at is written from the service clock (millisecond precision), so the cursor's
    // millisecond timestamp compares exactly.
    const at = new Date(after.at);
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', after.id)])]),
    );
  }
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export async function insertRegistration(tx: Tx, values: NewRegistrationRow): Promise<RegistrationRow> {
  return tx.insertInto('registrations').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function updateRegistration(
  tx: Tx,
  tenantId: string,
  id: string,
  set: RegistrationUpdate,
): Promise<RegistrationRow> {
  return tx
    .updateTable('registrations')
    .set(set)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
