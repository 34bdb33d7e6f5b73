import { type Static, Type } from 'typebox';
import { pageOf } from '../http/pagination.ts';
import type { PartnerLinkRow } from './partner-link.table.ts';

export const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

const Id = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Id });

// Enums, not unions of literals: a bad value is one problem in `details.fields`, not one per choice.
export const LinkPurpose = Type.Enum(['submit_registration', 'view_referrals', 'view_statements']);
export const LinkState = Type.Enum(['active', 'expired', 'revoked']);

export const LinkCreateBody = Type.Object(
  {
    contactId: Id,
    purpose: LinkPurpose,
    programId: Type.Optional(
      Type.Union([Id, Type.Null()], {
        description: "Required for submit_registration; the contact's partner must be enrolled in it",
      }),
    ),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, description: 'Defaults to 30' })),
  },
  { additionalProperties: false },
);

export const CreatedLink = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'The page the partner contact opens: `<PUBLIC_URL>/p/<token>`' }),
  token: Type.String({
    description: 'Shown once: also works as `Authorization: Bearer <token>` on partner-facing routes',
  }),
  purpose: LinkPurpose,
  contactId: Type.String(),
  programId: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String(),
});

/** A link as lists show it: its state, never its token. */
export const Link = Type.Object({
  id: Type.String(),
  contactId: Type.String(),
  purpose: LinkPurpose,
  programId: Type.Union([Type.String(), Type.Null()]),
  state: LinkState,
  expiresAt: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

export const LinkListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  contactId: Type.Optional(Id),
  state: Type.Optional(LinkState),
});
export const LinkPage = pageOf(Link);

export const PortalMe = Type.Object({
  contact: Type.Object({ id: Type.String(), name: Type.String(), email: Type.String() }),
  partner: Type.Object({ id: Type.String(), name: Type.String() }),
  purpose: LinkPurpose,
  program: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  expiresAt: Type.String(),
});

export type LinkStateValue = Static<typeof LinkState>;

export function linkState(row: Pick<PartnerLinkRow, 'revoked_at' | 'expires_at'>, now: Date): LinkStateValue {
  if (row.revoked_at) return 'revoked';
  return row.expires_at.getTime() <= now.getTime() ? 'expired' : 'active';
}

export function linkView(row: PartnerLinkRow, now: Date): Static<typeof Link> {
  return {
    id: row.id,
    contactId: row.contact_id,
    purpose: row.purpose,
    programId: row.program_id,
    state: linkState(row, now),
    expiresAt: row.expires_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}
