import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import type { Cursor } from '../http/pagination.ts';
import { partnerSubtreeQuery } from '../partners/partner.repository.ts';
import type { PartnerRow } from '../partners/partner.table.ts';
import type { EnrolmentStatus, ProgramRow } from '../programs/program.table.ts';
import type {
  CheckOutcome,
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

/** What a submission checks before anything else; see findSubmissionSubjects. */
export interface SubmissionSubjects {
  timeZone: string;
  program: ProgramRow | undefined;
  partner: Pick<PartnerRow, 'id' | 'name' | 'status' | 'tier_id'> | undefined;
  /** The partner's enrolment in the program, when both exist and it has one. */
  enrolmentStatus: EnrolmentStatus | null;
  /** The contact, when one was given and it belongs to the partner. */
  contactId: string | null;
}

/**
 * The tenant's time zone, the program, the partner, its enrolment and the contact a submission
 * names, in one statement rather than one round trip each (every submission pays for them).
 * Undefined when the tenant does not exist; a malformed id finds nothing, like an unknown one.
 */
export async function findSubmissionSubjects(
  tx: Tx,
  ids: { tenantId: string; programId: string; partnerId: string; contactId?: string | null | undefined },
): Promise<SubmissionSubjects | undefined> {
  const { tenantId, programId, partnerId, contactId } = ids;
  const never = sql<boolean>`false`;
  const row = await tx
    .selectFrom('tenants')
    .leftJoin('programs', (join) =>
      isUuid(programId)
        ? join.on('programs.tenant_id', '=', tenantId).on('programs.id', '=', programId)
        : join.on(never),
    )
    .leftJoin('partners', (join) =>
      isUuid(partnerId)
        ? join.on('partners.tenant_id', '=', tenantId).on('partners.id', '=', partnerId)
        : join.on(never),
    )
    .leftJoin('enrolments', (join) =>
      join
        .on('enrolments.tenant_id', '=', tenantId)
        .onRef('enrolments.program_id', '=', 'programs.id')
        .onRef('enrolments.partner_id', '=', 'partners.id'),
    )
    .leftJoin('partner_contacts', (join) =>
      contactId && isUuid(contactId)
        ? join
            .on('partner_contacts.tenant_id', '=', tenantId)
            .on('partner_contacts.id', '=', contactId)
            .onRef('partner_contacts.partner_id', '=', 'partners.id')
        : join.on(never),
    )
    .selectAll('programs')
    .select([
      'tenants.time_zone as subject_time_zone',
      'partners.id as subject_partner_id',
      'partners.name as subject_partner_name',
      'partners.status as subject_partner_status',
      'partners.tier_id as subject_partner_tier_id',
      'enrolments.status as subject_enrolment_status',
      'partner_contacts.id as subject_contact_id',
    ])
    .where('tenants.id', '=', tenantId)
    .executeTakeFirst();
  if (!row) return undefined;
  const {
    subject_time_zone,
    subject_partner_id,
    subject_partner_name,
    subject_partner_status,
    subject_partner_tier_id,
    subject_enrolment_status,
    subject_contact_id,
    ...program
  } = row;
  return {
    timeZone: subject_time_zone,
    // The left join leaves every program column null when there is no such program.
    program: program.id === null ? undefined : (program as ProgramRow),
    partner:
      subject_partner_id === null || subject_partner_name === null || subject_partner_status === null
        ? undefined
        : {
            id: subject_partner_id,
            name: subject_partner_name,
            status: subject_partner_status,
            tier_id: subject_partner_tier_id,
          },
    enrolmentStatus: subject_enrolment_status,
    contactId: subject_contact_id,
  };
}
