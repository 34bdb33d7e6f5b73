import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import type { Cursor } from '../http/pagination.ts';
import type { EnrolmentRow, EnrolmentStatus } from './program.table.ts';
import { cryptoRandomIndex, generateReferralCode, type RandomIndex } from './referral-code.ts';

/** How many fresh codes to draw before giving up: with 6.6 × 10^11 codes, more than one is rare. */
const CODE_ATTEMPTS = 8;

/** The tenant's enrolment; `lock` holds it for a read-modify-write in the caller's transaction. */
export async function findEnrolment(
  db: DbOrTx,
  tenantId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<EnrolmentRow | undefined> {
  if (!isUuid(id)) return undefined;
  const query = db
    .selectFrom('enrolments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id);
  return (options.lock ? query.forUpdate() : query).executeTakeFirst();
}

/** The partner's enrolment in the program, whatever its status. */
export async function findEnrolmentOf(
  db: DbOrTx,
  tenantId: string,
  programId: string,
  partnerId: string,
): Promise<EnrolmentRow | undefined> {
  return db
    .selectFrom('enrolments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
    .where('partner_id', '=', partnerId)
    .executeTakeFirst();
}

export { findPartner } from '../partners/partner.repository.ts';

export async function listEnrolments(
  db: DbOrTx,
  tenantId: string,
  programId: string,
  options: { status?: EnrolmentStatus; limit: number; cursor?: Cursor },
): Promise<EnrolmentRow[]> {
  let query = db
    .selectFrom('enrolments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId);
  if (options.status) query = query.where('status', '=', options.status);
  const { cursor } = options;
  if (cursor) {
    const at = new Date(cursor.at);
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', cursor.id)])]),
    );
  }
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit + 1)
    .execute();
}

export async function updateEnrolmentStatus(
  db: DbOrTx,
  tenantId: string,
  id: string,
  status: EnrolmentStatus,
  now: Date,
): Promise<EnrolmentRow | undefined> {
  return db
    .updateTable('enrolments')
    .set({ status, updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export interface EnrolInput {
  tenantId: string;
  programId: string;
  partnerId: string;
  now: Date;
  status?: EnrolmentStatus;
}

interface UniqueViolation {
  code: '23505';
  constraint?: string;
}

function isUniqueViolation(error: unknown): error is UniqueViolation {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/**
 * Enrols a partner with a fresh referral code. A code already taken (in any tenant) is met by the
 * unique index; the insert runs inside a savepoint so that violation undoes only the insert, not
 * the caller's transaction, and another code is drawn. An enrolment that a concurrent request made
 * first is returned as it is (`created: false`). Eligibility is the caller's to check.
 */
export async function enrolPartner(
  tx: Tx,
  input: EnrolInput,
  random: RandomIndex = cryptoRandomIndex,
): Promise<{ enrolment: EnrolmentRow; created: boolean }> {
  for (let attempt = 1; attempt <= CODE_ATTEMPTS; attempt++) {
    const referralCode = generateReferralCode(random);
    await sql`savepoint enrol_partner`.execute(tx);
    try {
      const enrolment = await tx
        .insertInto('enrolments')
        .values({
          tenant_id: input.tenantId,
          program_id: input.programId,
          partner_id: input.partnerId,
          status: input.status ?? 'active',
          referral_code: referralCode,
          created_at: input.now,
          updated_at: input.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await sql`release savepoint enrol_partner`.execute(tx);
      return { enrolment, created: true };
    } catch (error) {
      await sql`rollback to savepoint enrol_partner`.execute(tx);
      await sql`release savepoint enrol_partner`.execute(tx);
      if (!isUniqueViolation(error)) throw error;
      if (error.constraint === 'enrolments_program_partner_key') {
        const existing = await findEnrolmentOf(tx, input.tenantId, input.programId, input.partnerId);
        if (existing) return { enrolment: existing, created: false };
      }
      if (!error.constraint?.startsWith('enrolments_referral_code')) throw error;
    }
  }
  throw new Error(`no free referral code after ${CODE_ATTEMPTS} attempts`);
}
