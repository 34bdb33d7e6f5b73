import { Type } from 'typebox';
import type { CommissionPlanRow, CommissionRuleRow, FxRateRow } from './commission-plan.table.ts';
import type { PreviewResult } from './plan-preview.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const Day = Type.String({ format: 'date' });

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const PlanBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** Make it the program's plan now; the first plan of a program always is. */
    attach: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const RuleTypeSchema = Type.Union([
  Type.Literal('flat_fee'),
  Type.Literal('revenue_share'),
  Type.Literal('volume_tier'),
  Type.Literal('retainer'),
  Type.Literal('recurring_share'),
  Type.Literal('override'),
]);

/** A new rule, or a new version of one (same ruleKey): in force from effectiveFrom. */
export const RuleBody = Type.Object(
  {
    ruleKey: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }),
    type: RuleTypeSchema,
    // Checked against the schema of its type (rule-config.ts), which lists every problem at once.
    config: Type.Record(Type.String(), Type.Unknown()),
    conditions: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    effectiveFrom: Type.String({ format: 'date-time' }),
    status: Type.Optional(Type.Union([Type.Literal('draft'), Type.Literal('active')])),
    position: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  },
  { additionalProperties: false },
);

export const Rule = Type.Object({
  id: Type.String(),
  ruleKey: Type.String(),
  version: Type.Integer(),
  type: Type.String(),
  status: Type.String(),
  effectiveFrom: Type.String(),
  effectiveTo: Nullable(Type.String()),
  config: Type.Record(Type.String(), Type.Unknown()),
  conditions: Type.Record(Type.String(), Type.Unknown()),
  position: Type.Integer(),
});

export const Plan = Type.Object({
  id: Type.String(),
  programId: Type.String(),
  name: Type.String(),
  createdAt: Type.String(),
  rules: Type.Array(Rule),
});

export const PreviewBody = Type.Object(
  { planId: Type.Optional(Type.String({ format: 'uuid' })), from: Day, to: Day },
  { additionalProperties: false },
);

export const Preview = Type.Object({
  deals: Type.Integer(),
  totals: Type.Array(
    Type.Object({ partnerId: Type.String(), currency: Type.String(), amount: Type.String() }),
  ),
  lines: Type.Array(
    Type.Object({
      key: Type.String(),
      dealId: Nullable(Type.String()),
      partnerId: Type.String(),
      kind: Type.String(),
      amount: Type.String(),
      currency: Type.String(),
      rate: Nullable(Type.String()),
      fxRate: Nullable(Type.String()),
      periodKey: Nullable(Type.String()),
    }),
  ),
  problems: Type.Array(Type.String()),
});

export const FxRateBody = Type.Object(
  {
    from: Type.String({ pattern: '^[A-Z]{3}$' }),
    to: Type.String({ pattern: '^[A-Z]{3}$' }),
    rate: Type.String({ pattern: '^[0-9]{1,12}(\\.[0-9]{1,12})?$' }),
    effectiveOn: Day,
  },
  { additionalProperties: false },
);

export const FxRate = Type.Object({
  id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  rate: Type.String(),
  effectiveOn: Type.String(),
});

export function ruleView(row: CommissionRuleRow) {
  return {
    id: row.id,
    ruleKey: row.rule_key,
    version: row.version,
    type: row.type,
    status: row.status,
    effectiveFrom: row.effective_from.toISOString(),
    effectiveTo: row.effective_to?.toISOString() ?? null,
    config: row.config as unknown as Record<string, unknown>,
    conditions: row.conditions as unknown as Record<string, unknown>,
    position: row.position,
  };
}

export function planView(row: CommissionPlanRow, rules: CommissionRuleRow[]) {
  return {
    id: row.id,
    programId: row.program_id,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    rules: rules.map(ruleView),
  };
}

export function previewView(result: PreviewResult) {
  return {
    deals: result.deals,
    totals: result.totals.map((t) => ({ ...t, amount: t.amount.toString() })),
    lines: result.lines.map((l) => ({
      key: l.key,
      dealId: l.dealId ?? null,
      partnerId: l.partnerId,
      kind: l.kind,
      amount: l.amount.toString(),
      currency: l.currency,
      rate: l.rate ?? null,
      fxRate: l.fxRate ?? null,
      periodKey: l.periodKey ?? null,
    })),
    problems: result.problems,
  };
}

export function fxRateView(row: FxRateRow) {
  return {
    id: row.id,
    from: row.from_currency,
    to: row.to_currency,
    rate: row.rate,
    effectiveOn: row.effective_on,
  };
}
