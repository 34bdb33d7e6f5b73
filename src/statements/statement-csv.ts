import { decimalAmount } from '../payouts/payout-export.ts';
import type { Statement } from './statement.ts';

export type StatementPart = 'lines' | 'balances';

function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  // Names and keys a spreadsheet would run as a formula; amounts are written by us and stay numbers.
  if (typeof value === 'string' && /^[=+@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const row = (values: unknown[]) => `${values.map(field).join(',')}\r\n`;

/**
 * The statement as CSV: `lines` (one row per line, with everything that explains it) or
 * `balances` (per program and currency: opening, movements and closing per state).
 */
export function statementCsv(statement: Statement, part: StatementPart): string {
  if (part === 'balances') {
    let csv = row([
      'partner_id',
      'from',
      'to',
      'program_id',
      'currency',
      'opening_pending',
      'opening_payable',
      'opening_paid',
      'accrued',
      'approved',
      'clawed_back_from_payable',
      'paid',
      'closing_pending',
      'closing_payable',
      'closing_paid',
    ]);
    for (const b of statement.balances) {
      const money = (minor: bigint) => decimalAmount(minor, b.currency);
      csv += row([
        statement.partnerId,
        statement.from,
        statement.to,
        b.programId,
        b.currency,
        money(b.opening.pending),
        money(b.opening.payable),
        money(b.opening.paid),
        money(b.movements.accrued),
        money(b.movements.approved),
        money(b.movements.clawedBackFromPayable),
        money(b.movements.paid),
        money(b.closing.pending),
        money(b.closing.payable),
        money(b.closing.paid),
      ]);
    }
    return csv;
  }
  let csv = row([
    'line_id',
    'program_id',
    'kind',
    'status',
    'currency',
    'amount',
    'amount_minor',
    'accrued_at',
    'hold_until',
    'approved_at',
    'paid_at',
    'deal_id',
    'crm_deal_id',
    'deal_name',
    'deal_event_id',
    'deal_event_source_id',
    'deal_event_type',
    'rule_id',
    'rule_version',
    'rate',
    'basis_amount_minor',
    'basis_currency',
    'fx_rate',
    'period_key',
    'override_depth',
    'source_line_id',
    'reverses_line_id',
    'cause_key',
    'payout_id',
    'payout_batch_id',
    'payout_status',
    'payout_reference',
  ]);
  for (const l of statement.lines) {
    csv += row([
      l.id,
      l.programId,
      l.kind,
      l.status,
      l.currency,
      decimalAmount(l.amount, l.currency),
      l.amount,
      l.accruedAt,
      l.holdUntil,
      l.approvedAt,
      l.paidAt,
      l.dealId,
      l.crmDealId,
      l.dealName,
      l.dealEventId,
      l.dealEventSourceId,
      l.dealEventType,
      l.ruleId,
      l.ruleVersion,
      l.rate,
      l.basisAmount,
      l.basisCurrency,
      l.fxRate,
      l.periodKey,
      l.overrideDepth,
      l.sourceLineId,
      l.reversesLineId,
      l.causeKey,
      l.payout?.id,
      l.payout?.batchId,
      l.payout?.status,
      l.payout?.reference,
    ]);
  }
  return csv;
}
