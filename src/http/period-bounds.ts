import { AppError } from '../errors/app-error.ts';
import { zonedInstant } from '../registrations/protection-window.ts';

/*
 * The bounds of a period a request names (a statement, a list filter, a plan preview): a calendar
 * day of the tenant ('YYYY-MM-DD') or an RFC 3339 instant. Days run from 1900-01-01 to 9999-12-30
 * and instants within those years, so every bound is an instant both Date and PostgreSQL hold in
 * any time zone; anything else is a 400 naming the field, never a 500 from the database.
 */

const FIRST_YEAR = 1900;
const LAST_YEAR = 9999;
const LAST_DAY = `${LAST_YEAR}-12-30`;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$/;
const RANGE = `a day (YYYY-MM-DD) from ${FIRST_YEAR}-01-01 to ${LAST_DAY}, or an RFC 3339 instant in those years`;

/** The day as UTC midnight in milliseconds, when it is a calendar day in range. */
function dayMs(value: string): number | undefined {
  const match = DAY.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const date = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March 2 and reads years 0–99 as 1900–1999: both refused here.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return undefined;
  if (year < FIRST_YEAR || value > LAST_DAY) return undefined;
  return ms;
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function refuse(field: string): never {
  throw new AppError('validation_failed', `Invalid request: ${field} must be ${RANGE}`, {
    fields: [{ field, message: `must be ${RANGE}` }],
  });
}

function instant(value: string, field: string): Date {
  const ms = INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  const year = new Date(ms).getUTCFullYear();
  if (Number.isNaN(ms) || year < FIRST_YEAR || year > LAST_YEAR) refuse(field);
  return new Date(ms);
}

/** A day bound's instant: the start of the day `days` after it in `timeZone`; an instant as given. */
function bound(value: string, timeZone: string, field: string, days: number): Date {
  if (!DAY.test(value)) return instant(value, field);
  const ms = dayMs(value);
  if (ms === undefined) refuse(field);
  return zonedInstant(isoDay(ms + days * 86_400_000), timeZone);
}

/** Where a period starting at `value` starts: a day's first instant in `timeZone`, or the instant. */
export function periodStart(value: string, timeZone: string, field: string): Date {
  return bound(value, timeZone, field, 0);
}

/**
 * Where a period ending at `value` ends (exclusive): after the whole day in `timeZone` (a day
 * counts whole), or the instant itself.
 */
export function periodEnd(value: string, timeZone: string, field: string): Date {
  return bound(value, timeZone, field, 1);
}
