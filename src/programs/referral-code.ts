import { randomInt } from 'node:crypto';
import type { DbOrTx } from '../db/database.ts';

/*
 * A referral code is what a partner reads out on a call or prints on a flyer, so it must survive
 * being copied by a person: 8 characters from Crockford's base32 without 0, 1 (read as O, I, L) and
 * U, all upper case. 30^8 ≈ 6.6 × 10^11 codes, drawn uniformly from crypto, so guessing one is
 * hopeless and collisions are rare; the database's unique index is the final word (see enrolPartner).
 */
export const REFERRAL_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
export const REFERRAL_CODE_LENGTH = 8;

/** Returns a uniformly random integer in [0, max); tests inject a deterministic one. */
export type RandomIndex = (max: number) => number;

// crypto.randomInt rejects biased draws itself, so every character is equally likely.
export const cryptoRandomIndex: RandomIndex = (max) => randomInt(max);

export function generateReferralCode(random: RandomIndex = cryptoRandomIndex): string {
  let code = '';
  for (let i = 0; i < REFERRAL_CODE_LENGTH; i++) {
    code += REFERRAL_CODE_ALPHABET[random(REFERRAL_CODE_ALPHABET.length)];
  }
  return code;
}

/**
 * The code as stored: upper case, without the spaces, dashes, dots and underscores a person adds
 * when copying "abcd-efgh" from an email. Characters outside the alphabet are kept (and then simply
 * match nothing), so a code made elsewhere, e.g. imported, still resolves.
 */
export function normalizeReferralCode(input: string): string {
  return input.replace(/[\s\-_.]+/g, '').toUpperCase();
}

/** The public link a partner shares; the form behind it resolves the code. */
export function referralUrl(publicUrl: string, code: string): string {
  return `${publicUrl}/r/${encodeURIComponent(code)}`;
}

export interface ResolvedReferralCode {
  tenantId: string;
  programId: string;
  partnerId: string;
  enrolmentId: string;
}

/**
 * The enrolment a typed or linked referral code stands for, or undefined. Only a code that can take
 * a referral resolves: its enrolment is active, its program active, and its partner neither
 * suspended nor archived (the same partners whose links stop working). Program dates are the
 * caller's to check, in the tenant's time zone. Codes are unique across tenants (migration
 * 2026-11-22T0003_referral_codes_unique_across_tenants), because the public link carries no tenant.
 */
export async function resolveReferralCode(
  db: DbOrTx,
  code: string,
): Promise<ResolvedReferralCode | undefined> {
  const normalized = normalizeReferralCode(code);
  if (normalized.length === 0 || normalized.length > 64) return undefined;
  const row = await db
    .selectFrom('enrolments')
    .innerJoin('programs', (join) =>
      join
        .onRef('programs.id', '=', 'enrolments.program_id')
        .onRef('programs.tenant_id', '=', 'enrolments.tenant_id'),
    )
    .innerJoin('partners', (join) =>
      join
        .onRef('partners.id', '=', 'enrolments.partner_id')
        .onRef('partners.tenant_id', '=', 'enrolments.tenant_id'),
    )
    .select([
      'enrolments.id as enrolmentId',
      'enrolments.tenant_id as tenantId',
      'enrolments.program_id as programId',
      'enrolments.partner_id as partnerId',
    ])
    .where('enrolments.referral_code', '=', normalized)
    .where('enrolments.status', '=', 'active')
    .where('programs.status', '=', 'active')
    .where('partners.status', 'not in', ['suspended', 'archived'])
    .executeTakeFirst();
  return row;
}
