import { type Static, Type } from 'typebox';
import { pageOf } from '../http/pagination.ts';
import type { EnrolmentRow, ProgramRow } from './program.table.ts';
import { referralUrl } from './referral-code.ts';

export const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

export const Id = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Id });

// Enums, not unions of literals: a bad value is one problem in `details.fields`, not one per choice.
export const ProgramStatus = Type.Enum(['draft', 'active', 'closed']);
export const EnrolmentStatus = Type.Enum(['pending', 'active', 'suspended', 'left']);
const PartnerKind = Type.Enum(['referral', 'delivery', 'consultancy', 'affiliate']);
const Day = Type.String({
  format: 'date',
  description: "A calendar day, 'YYYY-MM-DD', in the tenant's time zone",
});
const NullableDay = Type.Union([Day, Type.Null()]);

const FormField = Type.Object(
  {
    key: Type.String({
      pattern: '^[a-z][a-z0-9]*(_[a-z0-9]+)*$',
      maxLength: 64,
      description: 'snake_case, unique in the form, not a standard registration field',
    }),
    label: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.Enum(['text', 'number', 'date', 'select']),
    required: Type.Optional(Type.Boolean({ description: 'Defaults to false' })),
    options: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 100,
        description: 'The choices of a select field (required for select, only for select)',
      }),
    ),
  },
  { additionalProperties: false },
);

const AutoApprove = Type.Object(
  {
    whenClear: Type.Optional(Type.Boolean({ description: 'Approve registrations whose checks are clear' })),
    tierIds: Type.Optional(
      Type.Array(Id, { maxItems: 100, description: "Only for partners in these tiers (the tenant's tiers)" }),
    ),
  },
  { additionalProperties: false },
);

const MINOR_UNITS =
  'Minor units of the currency (cents for USD, yen for JPY) as a JSON integer: 1050 is USD 10.50';

/** The writable fields of a program but its name, all optional: a create requires `name` besides. */
const optionalFields = {
  status: Type.Optional(ProgramStatus),
  startsOn: Type.Optional(NullableDay),
  endsOn: Type.Optional(Type.Union([Day, Type.Null()], { description: 'On or after startsOn' })),
  eligibleKinds: Type.Optional(
    Type.Array(PartnerKind, {
      maxItems: 4,
      description: 'Partner kinds that may enrol; empty means every kind',
    }),
  ),
  eligibleTierIds: Type.Optional(
    Type.Array(Id, {
      maxItems: 100,
      description: "Tiers whose partners may enrol (the tenant's tiers); empty means every tier",
    }),
  ),
  protectionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'Defaults to 90' })),
  holdDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650, description: 'Defaults to 30' })),
  minimumPayout: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: `${MINOR_UNITS}. Defaults to 0`,
    }),
  ),
  // Checked against Intl's list in the handler, so a bad code is reported with the other problems.
  currency: Type.Optional(
    Type.String({
      maxLength: 32,
      description: "ISO 4217 code, upper case; defaults to the tenant's currency",
    }),
  ),
  formFields: Type.Optional(Type.Array(FormField, { maxItems: 50 })),
  autoApprove: Type.Optional(AutoApprove),
  commissionPlanId: Type.Optional(
    Type.Union([Id, Type.Null()], { description: 'A commission plan (plans come in a later release)' }),
  ),
};
const ProgramName = Type.String({ minLength: 1, maxLength: 200 });

export const ProgramCreateBody = Type.Object(
  { name: ProgramName, ...optionalFields },
  { additionalProperties: false },
);
export const ProgramPatchBody = Type.Object(
  { name: Type.Optional(ProgramName), ...optionalFields },
  { additionalProperties: false, minProperties: 1 },
);
export type ProgramCreate = Static<typeof ProgramCreateBody>;
export type ProgramPatch = Static<typeof ProgramPatchBody>;

export const Program = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: ProgramStatus,
  startsOn: Type.Union([Type.String(), Type.Null()]),
  endsOn: Type.Union([Type.String(), Type.Null()]),
  eligibleKinds: Type.Array(Type.String()),
  eligibleTierIds: Type.Array(Type.String()),
  protectionDays: Type.Integer(),
  holdDays: Type.Integer(),
  minimumPayout: Type.Integer({ description: MINOR_UNITS }),
  currency: Type.String(),
  formFields: Type.Array(FormField),
  autoApprove: AutoApprove,
  commissionPlanId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const ProgramListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  status: Type.Optional(ProgramStatus),
});
export const ProgramPage = pageOf(Program);

export const Enrolment = Type.Object({
  id: Type.String(),
  programId: Type.String(),
  partnerId: Type.String(),
  status: EnrolmentStatus,
  referralCode: Type.String({ description: '8 characters, unique; what the partner shares' }),
  referralUrl: Type.String({ description: 'The public link that carries the referral code' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const EnrolmentCreateBody = Type.Object({ partnerId: Id }, { additionalProperties: false });
export const EnrolmentPatchBody = Type.Object({ status: EnrolmentStatus }, { additionalProperties: false });
export const EnrolmentListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  status: Type.Optional(EnrolmentStatus),
});
export const EnrolmentPage = pageOf(Enrolment);

export function programView(row: ProgramRow): Static<typeof Program> {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    startsOn: row.starts_on,
    endsOn: row.ends_on,
    eligibleKinds: row.eligible_kinds,
    eligibleTierIds: row.eligible_tier_ids,
    protectionDays: row.protection_days,
    holdDays: row.hold_days,
    // Safe: the API caps minimumPayout at Number.MAX_SAFE_INTEGER on the way in.
    minimumPayout: Number(row.minimum_payout),
    currency: row.currency,
    formFields: row.form_fields,
    autoApprove: row.auto_approve,
    commissionPlanId: row.commission_plan_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function enrolmentView(row: EnrolmentRow, publicUrl: string): Static<typeof Enrolment> {
  return {
    id: row.id,
    programId: row.program_id,
    partnerId: row.partner_id,
    status: row.status,
    referralCode: row.referral_code,
    referralUrl: referralUrl(publicUrl, row.referral_code),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
