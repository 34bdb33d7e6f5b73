import { Type } from 'typebox';
import type { PartnerContactRow, PartnerRow, TierRow } from './partner.table.ts';
import { PARTNER_KINDS, PARTNER_STATUSES } from './partner.table.ts';

// The API's view of partners, tiers and contacts, and the request bodies that change them.
// Partners carry no money, so no amount appears here.

/** The tiers' rank column is a 32-bit integer. */
const MAX_RANK = 2_147_483_647;

export const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  409: { $ref: 'ErrorResponse#' },
  415: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

// Enums rather than unions of literals: a bad value yields one problem naming the field, not one per option.
export const Kind = Type.Enum(PARTNER_KINDS);
export const Status = Type.Enum(PARTNER_STATUSES);
export const Id = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Id });

// One JSON type with a null branch (not anyOf), so a bad value yields one problem, not three.
const nullable = <T>(schema: Record<string, unknown>, description?: string) =>
  Type.Unsafe<T | null>({
    ...schema,
    type: [schema.type as string, 'null'],
    ...(description ? { description } : {}),
  });

export const NullableId = (description?: string) =>
  nullable<string>({ type: 'string', format: 'uuid' }, description);

export const PayoutDetails = Type.Object(
  {
    method: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 50,
        description: 'How the partner is paid, e.g. bank_transfer',
      }),
    ),
    reference: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Where to pay: an IBAN, a PayPal address, …',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Partner = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Kind,
  status: Status,
  tierId: Type.Union([Type.String(), Type.Null()]),
  parentId: Type.Union([Type.String(), Type.Null()]),
  externalId: Type.Union([Type.String(), Type.Null()]),
  payoutDetails: PayoutDetails,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

/** What a partner contact sees of the partners in its subtree: no payout details, no external ids. */
export const PortalPartner = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Kind,
  status: Status,
  tierId: Type.Union([Type.String(), Type.Null()]),
  parentId: Type.Union([Type.String(), Type.Null()], {
    description: "The partner above, for drawing the tree; null for the contact's own partner",
  }),
  createdAt: Type.String(),
});

export const Tier = Type.Object({
  id: Type.String(),
  name: Type.String(),
  rank: Type.Integer({ description: 'Higher is better (Bronze 1, Silver 2, Gold 3)' }),
  createdAt: Type.String(),
});

export const Contact = Type.Object({
  id: Type.String(),
  partnerId: Type.String(),
  name: Type.String(),
  email: Type.String({ description: 'Lower-cased' }),
  role: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

const Name = Type.String({ minLength: 1, maxLength: 200 });
const ExternalId = (description: string) =>
  nullable<string>({ type: 'string', minLength: 1, maxLength: 200 }, description);

export const CreatePartnerBody = Type.Object(
  {
    name: Name,
    kind: Kind,
    status: Type.Optional(Status),
    tierId: Type.Optional(NullableId()),
    parentId: Type.Optional(NullableId('The partner above this one; null or absent for a top-level partner')),
    externalId: Type.Optional(ExternalId('Your own id for the partner; what a CSV re-import matches on')),
    payoutDetails: Type.Optional(PayoutDetails),
  },
  { additionalProperties: false },
);

export const UpdatePartnerBody = Type.Object(
  {
    name: Type.Optional(Name),
    kind: Type.Optional(Kind),
    status: Type.Optional(Status),
    tierId: Type.Optional(NullableId()),
    externalId: Type.Optional(ExternalId('Your own id for the partner')),
    payoutDetails: Type.Optional(PayoutDetails),
  },
  { additionalProperties: false, description: 'Fields to change; the parent changes through /move' },
);

export const MoveBody = Type.Object(
  { parentId: NullableId('The new parent; null puts the partner at the top') },
  { additionalProperties: false },
);

export const ListPartnersQuery = {
  parent: Type.Optional(
    Type.String({ format: 'uuid', description: 'Only the direct children of this partner' }),
  ),
  subtree: Type.Optional(
    Type.Boolean({ description: 'With `parent`: that partner and every partner below it, at any depth' }),
  ),
  status: Type.Optional(Status),
  kind: Type.Optional(Kind),
  tier: Type.Optional(Type.String({ format: 'uuid', description: 'Only partners of this tier' })),
};

export const CreateTierBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    rank: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RANK })),
  },
  { additionalProperties: false },
);

export const UpdateTierBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    rank: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RANK })),
  },
  { additionalProperties: false },
);

export const CreateContactBody = Type.Object(
  {
    name: Name,
    email: Type.String({ format: 'email', maxLength: 320 }),
    role: Type.Optional(nullable<string>({ type: 'string', minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

export const UpdateContactBody = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
    role: Type.Optional(nullable<string>({ type: 'string', minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

export const ImportReport = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  errors: Type.Array(
    Type.Object({
      line: Type.Integer({ description: 'Line in the file; the header is line 1' }),
      reason: Type.String(),
    }),
  ),
  rows: Type.Array(
    Type.Object({
      line: Type.Integer(),
      externalId: Type.String(),
      outcome: Type.Union([
        Type.Literal('created'),
        Type.Literal('updated'),
        Type.Literal('unchanged'),
        Type.Literal('error'),
      ]),
      partnerId: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

export function payoutView(details: Record<string, unknown>): { method?: string; reference?: string } {
  return {
    ...(typeof details.method === 'string' ? { method: details.method } : {}),
    ...(typeof details.reference === 'string' ? { reference: details.reference } : {}),
  };
}

export function partnerView(row: PartnerRow) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    tierId: row.tier_id,
    parentId: row.parent_id,
    externalId: row.external_id,
    payoutDetails: payoutView(row.payout_details),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** `rootId` is the contact's own partner: its parent lies outside what the contact may see. */
export function portalPartnerView(row: PartnerRow, rootId: string) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    tierId: row.tier_id,
    parentId: row.id === rootId ? null : row.parent_id,
    createdAt: row.created_at.toISOString(),
  };
}

export function tierView(row: TierRow) {
  return { id: row.id, name: row.name, rank: row.rank, createdAt: row.created_at.toISOString() };
}

export function contactView(row: PartnerContactRow) {
  return {
    id: row.id,
    partnerId: row.partner_id,
    name: row.name,
    email: row.email,
    role: row.role,
    createdAt: row.created_at.toISOString(),
  };
}
