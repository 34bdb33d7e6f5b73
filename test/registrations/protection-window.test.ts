import { describe, expect, it } from 'vitest';
import { addLocalDays, localDate, zonedInstant } from '../../src/registrations/protection-window.ts';

describe('protection windows in calendar days of the tenant time zone', () => {
  it('ends 30 days after 1 March 10:00 in London at 10:00 BST, which is 09:00Z', () => {
    const approved = zonedInstant('2026-03-01', 'Europe/London', '10:00');
    expect(approved.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(addLocalDays(approved, 30, 'Europe/London').toISOString()).toBe('2026-03-31T09:00:00.000Z');
  });

  it('gains the hour back when the window crosses the autumn change', () => {
    const approved = new Date('2026-10-01T09:00:00.000Z'); // 10:00 BST
    expect(addLocalDays(approved, 30, 'Europe/London').toISOString()).toBe('2026-10-31T10:00:00.000Z'); // 10:00 GMT
  });

  it('follows New York, whose clocks change on other dates', () => {
    const noon = zonedInstant('2026-03-07', 'America/New_York', '12:00');
    expect(noon.toISOString()).toBe('2026-03-07T17:00:00.000Z');
    expect(addLocalDays(noon, 2, 'America/New_York').toISOString()).toBe('2026-03-09T16:00:00.000Z');
  });

  it('is exactly N × 24 h in a zone without daylight saving, keeping milliseconds', () => {
    const at = new Date('2026-01-31T12:00:00.123Z');
    expect(addLocalDays(at, 1, 'UTC').toISOString()).toBe('2026-02-01T12:00:00.123Z');
    expect(addLocalDays(at, 90, 'Asia/Tokyo').getTime() - at.getTime()).toBe(90 * 86_400_000);
  });

  it('moves a wall-clock time that does not exist forward, and takes the earlier of a repeated one', () => {
    // 29 March 2026 01:30 does not exist in London (01:00 → 02:00).
    expect(zonedInstant('2026-03-29', 'Europe/London', '01:30').toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
    // 25 October 2026 01:30 happens twice; the first is BST.
    expect(zonedInstant('2026-10-25', 'Europe/London', '01:30').toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    const dayBefore = zonedInstant('2026-10-24', 'Europe/London', '01:30');
    expect(addLocalDays(dayBefore, 1, 'Europe/London').toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it('names the local calendar day of an instant', () => {
    expect(localDate(new Date('2026-03-01T23:30:00Z'), 'Asia/Tokyo')).toBe('2026-03-02');
    expect(localDate(new Date('2026-03-01T03:30:00Z'), 'America/Los_Angeles')).toBe('2026-02-28');
    expect(localDate(new Date('2026-03-01T03:30:00Z'), 'UTC')).toBe('2026-03-01');
  });
});
