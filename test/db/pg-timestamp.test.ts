import fc from 'fast-check';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTimestamptz } from '../../src/db/pg-timestamp.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

const defaultParser = pg.types.getTypeParser(1184, 'text') as (text: string) => Date;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

describe('parseTimestamptz', () => {
  it.each([
    ['2026-03-01 10:00:00+00', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01 10:00:00.5+00', '2026-03-01T10:00:00.500Z'],
    ['2026-03-01 10:00:00.123456+00', '2026-03-01T10:00:00.123Z'],
    ['2026-03-01 10:00:00.999999+00', '2026-03-01T10:00:00.999Z'],
    ['2026-03-01 10:00:00.000999+00', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01 15:30:00+05:30', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01 06:30:00-03:30', '2026-03-01T10:00:00.000Z'],
    ['1900-01-01 00:19:32+00:19:32', '1900-01-01T00:00:00.000Z'],
    ['1900-01-01 00:00:00-00:19:32', '1900-01-01T00:19:32.000Z'],
    ['2026-01-01 00:59:59.999+01', '2025-12-31T23:59:59.999Z'],
    ['2024-02-29 23:59:59.999999-12', '2024-03-01T11:59:59.999Z'],
    ['0100-01-01 00:00:00+00', '0100-01-01T00:00:00.000Z'],
    ['9999-12-31 23:59:59.999999+00', '9999-12-31T23:59:59.999Z'],
  ])('%s is %s', (text, iso) => {
    expect(parseTimestamptz(text).toISOString()).toBe(iso);
    expect(parseTimestamptz(text).getTime()).toBe(defaultParser(text).getTime());
  });

  it.each([
    '0099-06-01 12:00:00+00',
    '0001-01-01 00:00:00+00 BC',
    '2026-03-01 10:00:00+00 BC',
    '12026-03-01 10:00:00+00',
    'infinity',
    '-infinity',
  ])('leaves %s to the default parser, with the same result', (text) => {
    expect(parseTimestamptz(text)).toEqual(defaultParser(text));
  });

  it('agrees with the default parser on any instant, fraction and offset (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(100, 0, 1), max: Date.UTC(9999, 11, 31) }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: -15 * 3600 - 59 * 60 - 59, max: 15 * 3600 + 59 * 60 + 59 }),
        fc.constantFrom('hh', 'hh:mm', 'hh:mm:ss'),
        (instant, micros, digits, offset, shape) => {
          const second = Math.floor(instant / 1000) * 1000;
          const local = new Date(second + offset * 1000);
          const abs = Math.abs(offset);
          const [h, m, s] = [Math.floor(abs / 3600), Math.floor(abs / 60) % 60, abs % 60];
          const zone =
            (offset < 0 ? '-' : '+') +
            pad(h) +
            (shape !== 'hh' || m || s ? `:${pad(m)}` : '') +
            (shape === 'hh:mm:ss' || s ? `:${pad(s)}` : '');
          const shown = pad(micros, 6).slice(0, digits);
          const fraction = digits === 0 ? '' : `.${shown}`;
          const text =
            `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
            `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction}${zone}`;
          const expected = second + Number(shown.padEnd(3, '0').slice(0, 3));
          expect(parseTimestamptz(text).getTime()).toBe(expected);
          expect(parseTimestamptz(text).getTime()).toBe(defaultParser(text).getTime());
        },
      ),
      { numRuns: 5_000 },
    );
  });
});

describe('parseTimestamptz on what the database prints', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await testDb?.destroy();
  });

  it.each(['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/Amsterdam', 'Pacific/Kiritimati'])(
    'reads every instant printed in %s to the millisecond of its epoch',
    async (zone) => {
      const rows = await testDb.handle.db.transaction().execute(async (tx) => {
        await sql`select set_config('TimeZone', ${zone}, true)`.execute(tx);
        const { rows } = await sql<{ text: string; ms: string }>`
        select t::text as text, floor(extract(epoch from t) * 1000)::text as ms
        from (
          select timestamptz '1890-01-01 00:00:00.000001+00' + n * interval '7 days 3 hours 17 minutes 1.234567 seconds' as t
          from generate_series(0, 7000) n
        ) g`.execute(tx);
        return rows;
      });
      expect(rows.length).toBe(7001);
      for (const row of rows) expect(parseTimestamptz(row.text).getTime(), row.text).toBe(Number(row.ms));
    },
  );
});
