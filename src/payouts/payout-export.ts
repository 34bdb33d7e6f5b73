import type { DbOrTx } from '../db/database.ts';
import { currencyExponent } from '../portal/amount.parse.ts';
import { linesOfPayouts, payoutsOfBatch } from './payout.repository.ts';
import type { PayoutBatchRow } from './payout.table.ts';

/*
 * The export accounts payable works from, as two CSV files of one batch: `payouts` (one row per
 * partner and program, with the partner's payout details: what to pay, to whom) and `lines` (one
 * row per commission line behind those payouts, with its deal and rule: why). Two files rather than
 * one with sections, because spreadsheet and AP tools import one table per file; the payout id
 * joins them. Amounts are given both as decimals (for people) and in minor units (for machines).
 */

export type ExportPart = 'payouts' | 'lines';

/** A CSV field: quoted when needed, and text that a spreadsheet would run as a formula defused. */
function field(value: unknown, options: { text?: boolean } = {}): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : String(value);
  if (options.text !== false && typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const row = (values: string[]) => `${values.join(',')}\r\n`;

/** Minor units as a plain decimal string in the currency's exponent: -8000 USD → "-80.00". */
export function decimalAmount(minor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const text = exponent === 0 ? whole : `${whole}.${digits.slice(digits.length - exponent)}`;
  return negative ? `-${text}` : text;
}

export async function exportCsv(db: DbOrTx, batch: PayoutBatchRow, part: ExportPart): Promise<string> {
  const payouts = await payoutsOfBatch(db, batch.tenant_id, batch.id);
  const partnerIds = [...new Set(payouts.map((p) => p.partner_id))];
  const programIds = [...new Set(payouts.map((p) => p.program_id))];
  const partners = new Map(
    partnerIds.length === 0
      ? []
      : (
          await db
            .selectFrom('partners')
            .select(['id', 'name', 'external_id', 'payout_details'])
            .where('tenant_id', '=', batch.tenant_id)
            .where('id', 'in', partnerIds)
            .execute()
        ).map((p) => [p.id, p]),
  );
  const programs = new Map(
    programIds.length === 0
      ? []
      : (
          await db
            .selectFrom('programs')
            .select(['id', 'name'])
            .where('tenant_id', '=', batch.tenant_id)
            .where('id', 'in', programIds)
            .execute()
        ).map((p) => [p.id, p]),
  );

  if (part === 'payouts') {
    let csv = row([
      'batch_id',
      'payout_id',
      'partner_id',
      'partner_name',
      'partner_external_id',
      'program_id',
      'program_name',
      'currency',
      'amount',
      'amount_minor',
      'line_count',
      'status',
      'reference',
      'payout_details',
    ]);
    for (const payout of payouts) {
      const partner = partners.get(payout.partner_id);
      csv += row([
        field(batch.id),
        field(payout.id),
        field(payout.partner_id),
        field(partner?.name ?? ''),
        field(partner?.external_id ?? ''),
        field(payout.program_id),
        field(programs.get(payout.program_id)?.name ?? ''),
        field(payout.currency),
        field(decimalAmount(payout.amount, payout.currency), { text: false }),
        field(payout.amount.toString(), { text: false }),
        field(payout.line_count),
        field(payout.status),
        field(payout.reference ?? ''),
        field(JSON.stringify(partner?.payout_details ?? {})),
      ]);
    }
    return csv;
  }

  const lines = await linesOfPayouts(
    db,
    batch.tenant_id,
    payouts.map((p) => p.id),
  );
  let csv = row([
    'payout_id',
    'partner_id',
    'line_id',
    'kind',
    'deal_id',
    'deal_event_id',
    'rule_id',
    'rule_version',
    'cause_key',
    'reverses_line_id',
    'currency',
    'amount',
    'amount_minor',
    'basis_amount_minor',
    'basis_currency',
    'rate',
    'fx_rate',
    'accrued_at',
    'approved_at',
    'approved_by',
  ]);
  for (const line of lines) {
    csv += row([
      field(line.payout_id),
      field(line.partner_id),
      field(line.id),
      field(line.kind),
      field(line.deal_id ?? ''),
      field(line.deal_event_id ?? ''),
      field(line.rule_id ?? ''),
      field(line.rule_version ?? ''),
      field(line.cause_key),
      field(line.reverses_line_id ?? ''),
      field(line.currency),
      field(decimalAmount(line.amount, line.currency), { text: false }),
      field(line.amount.toString(), { text: false }),
      field(line.basis_amount?.toString() ?? '', { text: false }),
      field(line.basis_currency ?? ''),
      field(line.rate ?? '', { text: false }),
      field(line.fx_rate ?? '', { text: false }),
      field(line.accrued_at.toISOString()),
      field(line.approved_at?.toISOString() ?? ''),
      field(line.approved_by ?? ''),
    ]);
  }
  return csv;
}
