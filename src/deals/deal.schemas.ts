import { Type } from 'typebox';
import type { DealAttributionRow, DealRow } from './deal.table.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
/**
 * Minor units as an integer string of up to 18 digits (it always fits the 64-bit columns, whose
 * maximum has 19) or a JSON integer (up to 2^53 − 1).
 */
const Minor = Type.Union([
  Type.String({ pattern: '^-?[0-9]{1,18}$' }),
  Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
]);
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** A normalized deal event as JSON. */
const dealEventProperties = {
  source: Type.Optional(
    Type.Union([Type.Literal('api'), Type.Literal('hubspot'), Type.Literal('salesforce')]),
  ),
  sourceEventId: Type.String({ minLength: 1, maxLength: 200 }),
  crmDealId: Type.String({ minLength: 1, maxLength: 200 }),
  occurredAt: Type.String({ format: 'date-time' }),
  type: Type.Union([
    Type.Literal('deal.created'),
    Type.Literal('deal.stage_changed'),
    Type.Literal('deal.amount_changed'),
    Type.Literal('deal.updated'),
    Type.Literal('deal.deleted'),
    Type.Literal('deal.restored'),
    Type.Literal('deal.merged'),
    Type.Literal('revenue.recorded'),
  ]),
  changes: Type.Optional(
    Type.Object(
      {
        stage: Type.Optional(
          Type.Object({
            id: Type.String({ minLength: 1, maxLength: 200 }),
            category: Type.Union([Type.Literal('open'), Type.Literal('won'), Type.Literal('lost')]),
            label: Type.Optional(Type.String({ maxLength: 500 })),
          }),
        ),
        amount: Type.Optional(Type.Object({ amount: Minor, currency: Currency })),
        closeDate: Type.Optional(Type.Union([Type.String({ format: 'date' }), Type.Null()])),
        ownerId: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
        pipeline: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
        name: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
        properties: Type.Optional(
          Type.Record(Type.String({ maxLength: 200 }), Nullable(Type.String({ maxLength: 4000 }))),
        ),
        mergedInto: Type.Optional(Type.String({ maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
  ),
  revenue: Type.Optional(
    Type.Object({
      revenueId: Type.String({ minLength: 1, maxLength: 200 }),
      amount: Minor,
      currency: Currency,
      month: Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$' }),
    }),
  ),
};

export const DealEventFields = Type.Object(dealEventProperties, { additionalProperties: false });

/** A normalized deal event as JSON, optionally creating and attributing an API-fed deal. */
export const DealEventBody = Type.Object(
  {
    ...dealEventProperties,
    programId: Type.Optional(Type.String({ format: 'uuid' })),
    attributions: Type.Optional(
      Type.Array(
        Type.Object({
          partnerId: Type.String({ format: 'uuid' }),
          role: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          splitWeight: Type.Optional(
            Type.Union([
              // Not zero: a weight is a share of the deal.
              Type.String({ pattern: '^(?=[0-9.]*[1-9])[0-9]{1,15}(\\.[0-9]{1,15})?$' }),
              Type.Number({ exclusiveMinimum: 0 }),
            ]),
          ),
        }),
        { maxItems: 50 },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Deal events recorded together (the API's batch): the events only, for deals that exist. */
export const DealEventBatchBody = Type.Object(
  { events: Type.Array(DealEventFields, { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
);

export const Attribution = Type.Object({
  partnerId: Type.String(),
  role: Type.String(),
  splitWeight: Type.String(),
  position: Type.Integer(),
});

export const Deal = Type.Object({
  id: Type.String(),
  source: Type.String(),
  crmDealId: Type.String(),
  programId: Nullable(Type.String()),
  registrationId: Nullable(Type.String()),
  name: Nullable(Type.String()),
  pipeline: Nullable(Type.String()),
  stage: Nullable(Type.String()),
  stageCategory: Type.String(),
  amount: Nullable(Type.String()),
  currency: Nullable(Type.String()),
  closeDate: Nullable(Type.String()),
  properties: Type.Record(Type.String(), Type.Unknown()),
  deletedAt: Nullable(Type.String()),
  wonAt: Nullable(Type.String()),
  version: Type.String(),
  attributions: Type.Array(Attribution),
});

export function dealView(row: DealRow, attributions: DealAttributionRow[]) {
  return {
    id: row.id,
    source: row.source,
    crmDealId: row.crm_deal_id,
    programId: row.program_id,
    registrationId: row.registration_id,
    name: row.name,
    pipeline: row.pipeline,
    stage: row.stage,
    stageCategory: row.stage_category,
    amount: row.amount === null ? null : String(row.amount),
    currency: row.currency,
    closeDate: row.close_date,
    properties: row.properties ?? {},
    deletedAt: row.deleted_at?.toISOString() ?? null,
    wonAt: row.won_at?.toISOString() ?? null,
    version: String(row.version),
    attributions: attributions.map((a) => ({
      partnerId: a.partner_id,
      role: a.role,
      splitWeight: String(a.split_weight),
      position: a.position,
    })),
  };
}
