import { Type } from 'typebox';
import { PageQuery } from '../http/pagination.ts';
import type { RegistrationRow } from './registration.table.ts';

/*
 * Request bodies check types only: the meaning of each field (a website with a public domain, an
 * email address, an ISO 4217 code, the program's own form fields) is checked by submitRegistration,
 * which lists every problem at once; a stricter schema would stop at its own problems and hide the rest.
 */

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const Id = Type.String({ format: 'uuid' });
const Text = (maxLength: number) => Type.String({ maxLength });

export const Status = Type.Union([
  Type.Literal('submitted'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('won'),
  Type.Literal('lost'),
  Type.Literal('expired'),
]);
export const CheckOutcome = Type.Union([
  Type.Literal('clear'),
  Type.Literal('duplicate_of'),
  Type.Literal('conflict_with'),
]);

const MONEY_DESCRIPTION =
  'Integer count of minor units of `currency` (cents for USD, yen for JPY), as a JSON number; ' +
  'at most 2^53 − 1.';
const Money = Type.Integer({ maximum: Number.MAX_SAFE_INTEGER, description: MONEY_DESCRIPTION });

/** The fields a registration is submitted with, by staff or a partner contact. */
const prospectFields = {
  companyName: Text(1000),
  website: Type.Optional(Nullable(Text(4096))),
  contactName: Type.Optional(Nullable(Text(1000))),
  contactEmail: Type.Optional(Nullable(Text(1000))),
  estimatedValue: Type.Optional(Type.Union([Money, Type.Null()])),
  currency: Type.Optional(
    Nullable(Type.String({ maxLength: 10, description: 'ISO 4217; the program currency when absent' })),
  ),
  expectedClose: Type.Optional(Nullable(Type.String({ maxLength: 20, description: 'YYYY-MM-DD' }))),
  notes: Type.Optional(Nullable(Text(20_000))),
  customFields: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: "Values of the program's own form fields" }),
  ),
};

export const SubmitBody = Type.Object(
  { programId: Id, partnerId: Id, contactId: Type.Optional(Nullable(Id)), ...prospectFields },
  { additionalProperties: false },
);

export const PortalSubmitBody = Type.Object(
  {
    programId: Type.Optional(
      Type.String({ format: 'uuid', description: 'Only when the link names no program' }),
    ),
    ...prospectFields,
  },
  { additionalProperties: false },
);

export const ReasonBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
);

export const OutcomeBody = Type.Object(
  { outcome: Type.Union([Type.Literal('won'), Type.Literal('lost')]) },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Id });

const dateOrInstant = (description: string) =>
  Type.Union([Type.String({ format: 'date' }), Type.String({ format: 'date-time' })], {
    description: `${description}: a day (YYYY-MM-DD, in the tenant's time zone) or an instant (RFC 3339)`,
  });

export const ListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(Status),
    programId: Type.Optional(Id),
    partnerId: Type.Optional(Id),
    checkOutcome: Type.Optional(CheckOutcome),
    from: Type.Optional(dateOrInstant('Created at or after')),
    to: Type.Optional(dateOrInstant('Created up to (a whole day counts) or before (an instant)')),
  },
  { additionalProperties: false },
);

const When = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

/** What a partner contact sees: no other partner's registration ids, no internal notes on the check. */
const portalFields = {
  id: Type.String(),
  programId: Type.String(),
  partnerId: Type.String(),
  contactId: Type.Union([Type.String(), Type.Null()]),
  source: Type.String(),
  companyName: Type.String(),
  website: Type.Union([Type.String(), Type.Null()]),
  domain: Type.Union([Type.String(), Type.Null()]),
  contactName: Type.Union([Type.String(), Type.Null()]),
  contactEmail: Type.Union([Type.String(), Type.Null()]),
  estimatedValue: Type.Union([Money, Type.Null()]),
  currency: Type.Union([Type.String(), Type.Null()]),
  expectedClose: Type.Union([Type.String(), Type.Null()]),
  notes: Type.Union([Type.String(), Type.Null()]),
  customFields: Type.Record(Type.String(), Type.Unknown()),
  status: Status,
  checkOutcome: CheckOutcome,
  rejectionReason: Type.Union([Type.String(), Type.Null()]),
  approvedAt: When,
  protectedUntil: When,
  extensionStatus: Type.String(),
  extensionRequestedAt: When,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
};

export const PortalRegistration = Type.Object(portalFields);

export const Registration = Type.Object({
  ...portalFields,
  companyKey: Type.String(),
  relatedRegistrationId: Type.Union([Type.String(), Type.Null()]),
  checkDetails: Type.Record(Type.String(), Type.Unknown()),
  overrideReason: Type.Union([Type.String(), Type.Null()]),
  approvedBy: Type.Union([Type.String(), Type.Null()]),
  crmDealId: Type.Union([Type.String(), Type.Null()]),
});

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function portalRegistrationView(row: RegistrationRow) {
  return {
    id: row.id,
    programId: row.program_id,
    partnerId: row.partner_id,
    contactId: row.contact_id,
    source: row.source,
    companyName: row.company_name,
    website: row.website,
    domain: row.domain,
    contactName: row.contact_name,
    contactEmail: row.contact_email,
    // Safe as a JSON number: the API accepts at most 2^53 − 1 (see Money).
    estimatedValue: row.estimated_value === null ? null : Number(row.estimated_value),
    currency: row.currency,
    expectedClose: row.expected_close,
    notes: row.notes,
    customFields: row.custom_fields,
    status: row.status,
    checkOutcome: row.check_outcome,
    rejectionReason: row.rejection_reason,
    approvedAt: iso(row.approved_at),
    protectedUntil: iso(row.protected_until),
    extensionStatus: row.extension_status,
    extensionRequestedAt: iso(row.extension_requested_at),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function registrationView(row: RegistrationRow) {
  return {
    ...portalRegistrationView(row),
    companyKey: row.company_key,
    relatedRegistrationId: row.related_registration_id,
    checkDetails: row.check_details,
    overrideReason: row.override_reason,
    approvedBy: row.approved_by,
    crmDealId: row.crm_deal_id,
  };
}
