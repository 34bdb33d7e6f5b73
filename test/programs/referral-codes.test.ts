import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolPartner } from '../../src/programs/enrolment.repository.ts';
import {
  generateReferralCode,
  normalizeReferralCode,
  type RandomIndex,
  REFERRAL_CODE_ALPHABET,
  resolveReferralCode,
} from '../../src/programs/referral-code.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

/** A random source that plays back `codes`, one character at a time, so the test knows what comes next. */
function scripted(...codes: string[]): RandomIndex & { draws: number } {
  const indexes = codes.flatMap((code) => [...code].map((c) => REFERRAL_CODE_ALPHABET.indexOf(c)));
  for (const index of indexes) if (index < 0) throw new Error('scripted codes must use the alphabet');
  const source = Object.assign(
    (max: number) => {
      expect(max).toBe(REFERRAL_CODE_ALPHABET.length);
      const next = indexes[source.draws++];
      if (next === undefined) throw new Error('scripted random source ran out');
      return next;
    },
    { draws: 0 },
  );
  return source;
}

describe('referral codes', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('draws 8 characters from an alphabet without 0, O, 1, I, L or U, every character alike', () => {
    expect(REFERRAL_CODE_ALPHABET).toHaveLength(30);
    expect(new Set(REFERRAL_CODE_ALPHABET).size).toBe(30);
    for (const ambiguous of ['0', 'O', '1', 'I', 'L', 'U'])
      expect(REFERRAL_CODE_ALPHABET).not.toContain(ambiguous);

    const codes = Array.from({ length: 5_000 }, () => generateReferralCode());
    const counts = new Map<string, number>();
    for (const code of codes) {
      expect(code).toMatch(/^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{8}$/);
      for (const c of code) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    // 5,000 random codes out of 6.6 × 10^11: a repeat would mean the source is not random.
    expect(new Set(codes).size).toBe(codes.length);
    // 40,000 characters, ~1,333 of each: far outside 1,000..1,700 only if the draw is biased.
    expect(counts.size).toBe(30);
    for (const [c, n] of counts) {
      expect(n, c).toBeGreaterThan(1_000);
      expect(n, c).toBeLessThan(1_700);
    }
  });

  it('builds a code from the injected random source', () => {
    expect(generateReferralCode(scripted('ABCDEFGH'))).toBe('ABCDEFGH');
    expect(generateReferralCode(() => 0)).toBe('22222222');
    expect(generateReferralCode(() => 29)).toBe('ZZZZZZZZ');
  });

  it('normalises what a person typed: case, spaces, dashes', () => {
    expect(normalizeReferralCode('abcd-efgh')).toBe('ABCDEFGH');
    expect(normalizeReferralCode('  Ab Cd - eF gH ')).toBe('ABCDEFGH');
    expect(normalizeReferralCode('abcd_efgh.')).toBe('ABCDEFGH');
    expect(normalizeReferralCode('ABCDEFGH')).toBe('ABCDEFGH');
  });

  it('retries with a fresh code when the drawn one is taken in the same tenant', async () => {
    const { db } = database.handle;
    const { tenant } = await makeTenant(db);
    const program = await makeProgram(db, tenant.id);
    const holder = await makePartner(db, tenant.id);
    await makeEnrolment(db, tenant.id, program.id, holder.id, 'KKKKKKKK');
    const partner = await makePartner(db, tenant.id);
    const random = scripted('KKKKKKKK', 'MMMMMMMM');
    const result = await db
      .transaction()
      .execute((tx) =>
        enrolPartner(
          tx,
          { tenantId: tenant.id, programId: program.id, partnerId: partner.id, now: new Date() },
          random,
        ),
      );
    expect(random.draws).toBe(16);
    expect(result.created).toBe(true);
    expect(result.enrolment.referral_code).toBe('MMMMMMMM');
    const stored = await db
      .selectFrom('enrolments')
      .select(['partner_id', 'referral_code'])
      .where('program_id', '=', program.id)
      .orderBy('referral_code')
      .execute();
    expect(stored).toEqual([
      { partner_id: holder.id, referral_code: 'KKKKKKKK' },
      { partner_id: partner.id, referral_code: 'MMMMMMMM' },
    ]);
  });

  it("retries when the drawn code is another tenant's, since a link carries no tenant", async () => {
    const { db } = database.handle;
    const theirs = await makeTenant(db);
    const theirProgram = await makeProgram(db, theirs.tenant.id);
    await makeEnrolment(
      db,
      theirs.tenant.id,
      theirProgram.id,
      (await makePartner(db, theirs.tenant.id)).id,
      'NNNNNNNN',
    );

    const { tenant } = await makeTenant(db);
    const program = await makeProgram(db, tenant.id);
    const partner = await makePartner(db, tenant.id);
    const result = await db.transaction().execute(async (tx) => {
      const enrolled = await enrolPartner(
        tx,
        { tenantId: tenant.id, programId: program.id, partnerId: partner.id, now: new Date() },
        scripted('NNNNNNNN', 'PPPPPPPP'),
      );
      // The transaction survived the violation: it can still write.
      await tx.updateTable('partners').set({ name: 'Still writable' }).where('id', '=', partner.id).execute();
      return enrolled;
    });
    expect(result.enrolment.referral_code).toBe('PPPPPPPP');
    expect(await resolveReferralCode(db, 'nnnn-nnnn')).toMatchObject({ tenantId: theirs.tenant.id });
    expect(await resolveReferralCode(db, 'pppp pppp')).toMatchObject({ tenantId: tenant.id });
  });

  it('gives up, rolling back only its own attempts, when every drawn code is taken', async () => {
    const { db } = database.handle;
    const { tenant } = await makeTenant(db);
    const program = await makeProgram(db, tenant.id);
    await makeEnrolment(db, tenant.id, program.id, (await makePartner(db, tenant.id)).id, 'QQQQQQQQ');
    const partner = await makePartner(db, tenant.id);
    await expect(
      db
        .transaction()
        .execute((tx) =>
          enrolPartner(
            tx,
            { tenantId: tenant.id, programId: program.id, partnerId: partner.id, now: new Date() },
            () => REFERRAL_CODE_ALPHABET.indexOf('Q'),
          ),
        ),
    ).rejects.toThrow(/no free referral code/);
    const mine = await db
      .selectFrom('enrolments')
      .select('id')
      .where('partner_id', '=', partner.id)
      .execute();
    expect(mine).toEqual([]);
  });

  it('returns the enrolment another request made first instead of a duplicate', async () => {
    const { db } = database.handle;
    const { tenant } = await makeTenant(db);
    const program = await makeProgram(db, tenant.id);
    const partner = await makePartner(db, tenant.id);
    const first = await makeEnrolment(db, tenant.id, program.id, partner.id, 'RRRRRRRR');
    const result = await db
      .transaction()
      .execute((tx) =>
        enrolPartner(
          tx,
          { tenantId: tenant.id, programId: program.id, partnerId: partner.id, now: new Date() },
          scripted('SSSSSSSS'),
        ),
      );
    expect(result.created).toBe(false);
    expect(result.enrolment.id).toBe(first.id);
    expect(result.enrolment.referral_code).toBe('RRRRRRRR');
  });

  it('resolves a code typed in lower case with dashes and spaces, and only a usable one', async () => {
    const { db } = database.handle;
    const { tenant } = await makeTenant(db);
    const program = await makeProgram(db, tenant.id);
    const partner = await makePartner(db, tenant.id);
    const enrolment = await makeEnrolment(db, tenant.id, program.id, partner.id, 'HJKMNPQR');
    const expected = {
      tenantId: tenant.id,
      programId: program.id,
      partnerId: partner.id,
      enrolmentId: enrolment.id,
    };
    for (const typed of ['HJKMNPQR', 'hjkmnpqr', 'hjkm-npqr', ' hjkm npqr ', 'Hj-Km-Np-Qr']) {
      expect(await resolveReferralCode(db, typed), typed).toEqual(expected);
    }
    for (const unknown of ['', '   ', 'HJKMNPQS', 'HJKMNPQ', 'x'.repeat(500)]) {
      expect(await resolveReferralCode(db, unknown), unknown).toBeUndefined();
    }

    await db.updateTable('enrolments').set({ status: 'left' }).where('id', '=', enrolment.id).execute();
    expect(await resolveReferralCode(db, 'hjkm-npqr')).toBeUndefined();
    await db.updateTable('enrolments').set({ status: 'active' }).where('id', '=', enrolment.id).execute();

    await db.updateTable('programs').set({ status: 'closed' }).where('id', '=', program.id).execute();
    expect(await resolveReferralCode(db, 'hjkm-npqr')).toBeUndefined();
    await db.updateTable('programs').set({ status: 'active' }).where('id', '=', program.id).execute();

    for (const status of ['suspended', 'archived'] as const) {
      await db.updateTable('partners').set({ status }).where('id', '=', partner.id).execute();
      expect(await resolveReferralCode(db, 'hjkm-npqr'), status).toBeUndefined();
    }
    await db.updateTable('partners').set({ status: 'invited' }).where('id', '=', partner.id).execute();
    expect(await resolveReferralCode(db, 'hjkm-npqr')).toEqual(expected);
  });
});
