import { localDate, zonedInstant } from '../registrations/protection-window.ts';

/*
 * Calendar months in a tenant's time zone, for the accruals that run per month (retainers and
 * recurring shares). A month is named by its key 'YYYY-MM'; it starts at local midnight on the 1st,
 * which in UTC moves with the zone's offset (and with DST: 1 April in Europe is 22:00 UTC on 31 March).
 */

const MONTH_KEY = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isMonthKey(value: string): boolean {
  return MONTH_KEY.test(value);
}

/** The month ('YYYY-MM') `instant` falls in, in `timeZone`. */
export function monthOf(instant: Date, timeZone: string): string {
  return localDate(instant, timeZone).slice(0, 7);
}

/** The month a calendar day ('YYYY-MM-DD') belongs to. */
export function monthOfDay(day: string): string {
  return day.slice(0, 7);
}

/** The instant the month begins: local midnight on its 1st in `timeZone`. */
export function monthStart(month: string, timeZone: string): Date {
  if (!MONTH_KEY.test(month)) throw new RangeError(`not a month key: ${month}`);
  return zonedInstant(`${month}-01`, timeZone);
}

/** The month `count` months after `month` (negative: before). */
export function addMonths(month: string, count: number): string {
  const match = MONTH_KEY.exec(month);
  if (!match) throw new RangeError(`not a month key: ${month}`);
  const index = Number(match[1]) * 12 + (Number(match[2]) - 1) + count;
  const year = Math.floor(index / 12);
  return `${String(year).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** Months from `first` to `last`, both included (empty when last < first). */
export function monthsFrom(first: string, last: string): string[] {
  const months: string[] = [];
  for (let m = first; m <= last; m = addMonths(m, 1)) months.push(m);
  return months;
}

/** The last month that has closed at `now`: the month before the one `now` is in. */
export function lastClosedMonth(now: Date, timeZone: string): string {
  return addMonths(monthOf(now, timeZone), -1);
}
