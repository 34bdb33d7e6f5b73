import { Type } from 'typebox';
import type { CommissionLineRow } from './commission-line.table.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

/** A commission line as the API shows it: amounts as integer strings of minor units. */
export const CommissionLine = Type.Object({
  id: Type.String(),
  programId: Type.String(),
  partnerId: Type.String(),
  dealId: Nullable(Type.String()),
  dealEventId: Nullable(Type.String()),
  ruleId: Nullable(Type.String()),
  ruleVersion: Type.Union([Type.Integer(), Type.Null()]),
  kind: Type.String(),
  causeKey: Type.String(),
  overrideDepth: Type.Union([Type.Integer(), Type.Null()]),
  sourceLineId: Nullable(Type.String()),
  reversesLineId: Nullable(Type.String()),
  amount: Type.String({ description: 'Signed integer minor units of `currency`' }),
  currency: Type.String(),
  basisAmount: Nullable(Type.String()),
  basisCurrency: Nullable(Type.String()),
  rate: Nullable(Type.String()),
  fxRate: Nullable(Type.String()),
  periodKey: Nullable(Type.String()),
  explanation: Type.Record(Type.String(), Type.Unknown()),
  status: Type.String(),
  accruedAt: Type.String(),
  holdUntil: Type.String(),
  ledgerTransactionId: Type.String(),
});

export function commissionLineView(row: CommissionLineRow) {
  return {
    id: row.id,
    programId: row.program_id,
    partnerId: row.partner_id,
    dealId: row.deal_id,
    dealEventId: row.deal_event_id,
    ruleId: row.rule_id,
    ruleVersion: row.rule_version,
    kind: row.kind,
    causeKey: row.cause_key,
    overrideDepth: row.override_depth,
    sourceLineId: row.source_line_id,
    reversesLineId: row.reverses_line_id,
    amount: String(row.amount),
    currency: row.currency,
    basisAmount: row.basis_amount === null ? null : String(row.basis_amount),
    basisCurrency: row.basis_currency,
    rate: row.rate,
    fxRate: row.fx_rate,
    periodKey: row.period_key,
    explanation: row.explanation ?? {},
    status: row.status,
    accruedAt: row.accrued_at.toISOString(),
    holdUntil: row.hold_until.toISOString(),
    ledgerTransactionId: row.ledger_transaction_id,
  };
}
