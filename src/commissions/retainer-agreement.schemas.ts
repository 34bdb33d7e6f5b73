import { Type } from 'typebox';
import { pageOf } from '../http/pagination.ts';
import type { RetainerAgreementRow } from './retainer-agreement.table.ts';

export const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  409: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const Id = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Id });
const Day = Type.String({
  format: 'date',
  description: "A calendar day, 'YYYY-MM-DD', in the tenant's time zone",
});
const Status = Type.Enum(['active', 'ended']);
const MINOR_UNITS = 'Minor units of the currency as a JSON integer: 150000 is USD 1,500.00';

export const RetainerAgreementCreateBody = Type.Object(
  {
    partnerId: Id,
    programId: Id,
    ruleId: Type.Optional(Type.Union([Id, Type.Null()], { description: "The program's retainer rule" })),
    monthlyAmount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: MINOR_UNITS }),
    currency: Type.Optional(
      Type.String({ pattern: '^[A-Z]{3}$', description: "The program's currency (the default)" }),
    ),
    activeFrom: Day,
    activeTo: Type.Optional(Type.Union([Day, Type.Null()], { description: 'Last active day (inclusive)' })),
  },
  { additionalProperties: false },
);

// Months already accrued are never taken back by an end: the last day cannot precede them.
export const RetainerAgreementEndBody = Type.Object(
  {
    lastDay: Type.Optional(
      Type.String({
        format: 'date',
        description:
          "The agreement's last active day (inclusive, tenant time zone); defaults to today. Send {} for today.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const RetainerAgreementListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  partnerId: Type.Optional(Id),
  programId: Type.Optional(Id),
  status: Type.Optional(Status),
});

export const RetainerAgreement = Type.Object({
  id: Type.String(),
  partnerId: Type.String(),
  programId: Type.String(),
  ruleId: Type.Union([Type.String(), Type.Null()]),
  monthlyAmount: Type.Integer({ description: MINOR_UNITS }),
  currency: Type.String(),
  activeFrom: Type.String(),
  activeTo: Type.Union([Type.String(), Type.Null()]),
  status: Status,
  endedAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const RetainerAgreementPage = pageOf(RetainerAgreement);

export function retainerAgreementView(row: RetainerAgreementRow) {
  return {
    id: row.id,
    partnerId: row.partner_id,
    programId: row.program_id,
    ruleId: row.rule_id,
    monthlyAmount: Number(row.monthly_amount),
    currency: row.currency,
    activeFrom: row.active_from,
    activeTo: row.active_to,
    status: row.status,
    endedAt: row.ended_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
