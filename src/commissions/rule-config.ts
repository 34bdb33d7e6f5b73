import { type TSchema, Type } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { AppError } from '../errors/app-error.ts';
import type { RuleConditions, RuleConfig, RuleType } from './commission-plan.table.ts';

/*
 * One TypeBox schema per rule type: the API checks a rule's config against the schema of its type
 * (the body schema only knows it is an object), and the same schemas document the types.
 */

const Rate = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?$', description: "Exact decimal: '0.1' is 10 %" });
// Up to 18 digits: always fits the 64-bit amount columns (whose maximum has 19).
const Minor = Type.String({ pattern: '^-?[0-9]{1,18}$', description: 'Integer minor units, as a string' });
const Count = Type.String({ pattern: '^[0-9]+$' });

export const RuleConfigSchemas: Record<RuleType, TSchema> = {
  flat_fee: Type.Object(
    { amount: Minor, on: Type.Union([Type.Literal('deal_won'), Type.Literal('registration_approved')]) },
    { additionalProperties: false },
  ),
  revenue_share: Type.Object({ rate: Rate }, { additionalProperties: false }),
  volume_tier: Type.Object(
    {
      period: Type.Union([Type.Literal('month'), Type.Literal('quarter'), Type.Literal('year')]),
      measure: Type.Union([Type.Literal('count'), Type.Literal('revenue')]),
      mode: Type.Union([Type.Literal('retroactive'), Type.Literal('marginal'), Type.Literal('forward')]),
      tiers: Type.Array(Type.Object({ from: Count, rate: Rate }, { additionalProperties: false }), {
        minItems: 1,
        maxItems: 50,
      }),
    },
    { additionalProperties: false },
  ),
  retainer: Type.Object({ monthlyAmount: Minor, successFee: Minor }, { additionalProperties: false }),
  recurring_share: Type.Object(
    {
      rate: Rate,
      months: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 600 }), Type.Null()])),
    },
    { additionalProperties: false },
  ),
  override: Type.Object(
    {
      basis: Type.Union([Type.Literal('commission'), Type.Literal('deal')]),
      levels: Type.Array(Rate, { minItems: 1, maxItems: 10 }),
    },
    { additionalProperties: false },
  ),
};

export const RuleConditionsSchema = Type.Object(
  {
    partnerKinds: Type.Optional(Type.Array(Type.String(), { maxItems: 20 })),
    tierIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 50 })),
    pipelines: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 })),
    minAmount: Type.Optional(Minor),
    maxAmount: Type.Optional(Minor),
    property: Type.Optional(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 200 }),
          values: Type.Array(Type.String(), { maxItems: 100 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const validators = new Map<string, Validator>();
function validatorOf(name: string, schema: TSchema): Validator {
  let v = validators.get(name);
  if (!v) {
    v = Compile(schema) as unknown as Validator;
    validators.set(name, v);
  }
  return v;
}

/** Every problem of a rule's config and conditions, as `validation_failed`. */
export function validateRule(type: RuleType, config: RuleConfig, conditions: RuleConditions): void {
  const problems: { field: string; message: string }[] = [];
  const schema = RuleConfigSchemas[type];
  if (!schema) problems.push({ field: 'type', message: 'is not a rule type' });
  else {
    const v = validatorOf(type, schema);
    if (!v.Check(config))
      for (const e of v.Errors(config))
        problems.push({ field: `config${e.instancePath.replaceAll('/', '.')}`, message: e.message });
  }
  const c = validatorOf('conditions', RuleConditionsSchema);
  if (!c.Check(conditions))
    for (const e of c.Errors(conditions))
      problems.push({ field: `conditions${e.instancePath.replaceAll('/', '.')}`, message: e.message });
  if (type === 'volume_tier' && problems.length === 0) {
    const froms = (config as { tiers: { from: string }[] }).tiers.map((t) => BigInt(t.from));
    if (froms.some((f, i) => i > 0 && f <= froms[i - 1]!))
      problems.push({ field: 'config.tiers', message: 'must be in ascending order of `from`' });
  }
  if (problems.length > 0)
    throw new AppError(
      'validation_failed',
      `Invalid ${type} rule: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
      {
        fields: problems,
      },
    );
}
