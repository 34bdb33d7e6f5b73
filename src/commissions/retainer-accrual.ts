import type { Db, Tx } from '../db/database.ts';
import { findTenant } from '../tenants/tenant.repository.ts';
import { accrueLines } from './commission-lines.ts';
import { addMonths, monthOf, monthOfDay, monthStart, monthsFrom } from './recurring-calendar.ts';
import {
  agreementsToAccrue,
  lockRetainerAgreement,
  postedCauseKeys,
} from './retainer-agreement.repository.ts';
import type { RetainerAgreementRow } from './retainer-agreement.table.ts';

/*
 * A retainer accrues its full monthly amount at local midnight on the 1st of each month the agreement
 * is active on (tenant time zone, no proration): an agreement from 15 March is first paid on 1 April;
 * one whose last day is 1 June is paid for June. Each month is its own ledger transaction and line,
 * keyed `retainer:<agreement>:<YYYY-MM>`, so the job can run late, twice, or after days of downtime
 * and every month due is posted exactly once.
 */

export const retainerCauseKey = (agreementId: string, month: string) => `retainer:${agreementId}:${month}`;

/** The months whose 1st has passed at `now` and on which the agreement was active. */
export function retainerMonthsDue(
  agreement: Pick<RetainerAgreementRow, 'active_from' | 'active_to'>,
  now: Date,
  timeZone: string,
): string[] {
  const fromMonth = monthOfDay(agreement.active_from);
  const first = agreement.active_from.endsWith('-01') ? fromMonth : addMonths(fromMonth, 1);
  const current = monthOf(now, timeZone);
  const last =
    agreement.active_to !== null && monthOfDay(agreement.active_to) < current
      ? monthOfDay(agreement.active_to)
      : current;
  return monthsFrom(first, last);
}

/** Posts the agreement's missing months; the agreement is locked so an `end` cannot interleave. */
export async function accrueRetainer(
  tx: Tx,
  tenantId: string,
  agreementId: string,
  now: Date,
): Promise<string[]> {
  const agreement = await lockRetainerAgreement(tx, tenantId, agreementId);
  if (!agreement) return [];
  const tenant = await findTenant(tx, tenantId);
  if (!tenant) return [];
  const due = retainerMonthsDue(agreement, now, tenant.time_zone);
  const posted = await postedCauseKeys(
    tx,
    tenantId,
    due.map((m) => retainerCauseKey(agreement.id, m)),
  );
  const missing = due.filter((m) => !posted.has(retainerCauseKey(agreement.id, m)));
  if (missing.length === 0) return [];
  const program = await tx
    .selectFrom('programs')
    .select(['hold_days'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', agreement.program_id)
    .executeTakeFirstOrThrow();
  for (const month of missing) {
    const causeKey = retainerCauseKey(agreement.id, month);
    await accrueLines(tx, {
      tenantId,
      transactionKey: causeKey,
      cause: { retainerAgreementId: agreement.id, month },
      // The hold runs from the 1st, the moment the month was owed, even when posted later.
      occurredAt: monthStart(month, tenant.time_zone),
      holdDays: program.hold_days,
      recordedAt: now,
      lines: [
        {
          programId: agreement.program_id,
          partnerId: agreement.partner_id,
          ruleId: agreement.rule_id,
          kind: 'retainer',
          causeKey,
          amount: agreement.monthly_amount,
          currency: agreement.currency,
          periodKey: month,
          explanation: {
            rule: 'retainer',
            retainerAgreementId: agreement.id,
            month,
            monthlyAmount: agreement.monthly_amount.toString(),
          },
        },
      ],
    });
  }
  return missing;
}

/**
 * One transaction per agreement: one agreement's failure does not hold up the others, and the run
 * then fails as a whole so the job retries (posting only what is still missing).
 */
export async function accrueDueRetainers(db: Db, now: Date): Promise<{ agreements: number; months: number }> {
  // The latest calendar day on Earth (UTC+14) bounds the agreements that may have begun.
  const latestDay = new Date(now.getTime() + 14 * 3_600_000).toISOString().slice(0, 10);
  const candidates = await agreementsToAccrue(db, latestDay);
  let months = 0;
  let agreements = 0;
  const failures: { agreementId: string; error: unknown }[] = [];
  for (const { id, tenant_id } of candidates) {
    try {
      const posted = await db.transaction().execute((tx) => accrueRetainer(tx, tenant_id, id, now));
      if (posted.length > 0) agreements++;
      months += posted.length;
    } catch (error) {
      failures.push({ agreementId: id, error });
    }
  }
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.error),
      `retainer accrual failed for ${failures.length} agreement(s): ${failures.map((f) => f.agreementId).join(', ')}`,
    );
  }
  return { agreements, months };
}
