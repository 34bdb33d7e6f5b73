/*
 * Calendar arithmetic in a tenant's time zone, without Temporal (not in Node 20): a protection window
 * of N days ends at the same local wall-clock time N calendar days later, so across a DST change it
 * is 23 or 25 hours longer or shorter than N × 24 h. Intl gives the wall clock of an instant; the
 * instant of a wall clock is found by trying the offsets in force around it.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local wall clock of `instant` in `timeZone`, encoded as if it were a UTC time (ms). */
function wallClock(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const ms = ((instant % 1000) + 1000) % 1000;
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!, ms);
}

/** The zone's offset from UTC at `instant`, in ms (+3 600 000 for BST). */
function offsetAt(instant: number, timeZone: string): number {
  return wallClock(instant, timeZone) - instant;
}

const DAY_MS = 86_400_000;

/**
 * The instant of a local wall clock (encoded as UTC ms) in `timeZone`. Like Temporal's 'compatible'
 * disambiguation: a time that occurs twice (clocks going back) is the earlier one; a time that does
 * not exist (clocks going forward) is moved forward by the gap.
 */
function instantOfWallClock(local: number, timeZone: string): number {
  const before = offsetAt(local - DAY_MS, timeZone);
  const after = offsetAt(local + DAY_MS, timeZone);
  const candidates = [local - before, local - after].filter((t) => wallClock(t, timeZone) === local);
  if (candidates.length > 0) return Math.min(...candidates);
  return local - before;
}

/** `instant` plus `days` calendar days in `timeZone`: the same local time of day, `days` days later. */
export function addLocalDays(instant: Date, days: number, timeZone: string): Date {
  const local = wallClock(instant.getTime(), timeZone);
  return new Date(instantOfWallClock(local + days * DAY_MS, timeZone));
}

/** The calendar day ('YYYY-MM-DD') of `instant` in `timeZone`. */
export function localDate(instant: Date, timeZone: string): string {
  return new Date(wallClock(instant.getTime(), timeZone)).toISOString().slice(0, 10);
}

/** The instant a local wall-clock time ('YYYY-MM-DD' at 'HH:MM', default midnight) occurs in `timeZone`. */
export function zonedInstant(date: string, timeZone: string, time = '00:00'): Date {
  const local = Date.parse(`${date}T${time}:00Z`);
  if (Number.isNaN(local)) throw new RangeError(`not a local date and time: ${date} ${time}`);
  return new Date(instantOfWallClock(local, timeZone));
}
