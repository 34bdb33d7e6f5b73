import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { AppDeps } from '../app.ts';
import type { AuditContext } from '../audit/audit.repository.ts';
import { AppError } from '../errors/app-error.ts';
import { resolvePartnerLink } from '../links/partner-link.service.ts';
import type { LinkPurpose } from '../links/partner-link.table.ts';
import { verifyApiKey } from '../tenants/api-key.service.ts';
import type { StaffRole } from '../tenants/tenant.table.ts';
import type { Actor, ContactActor, StaffActor } from './actor.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/**
 * A preHandler that admits staff with one of `roles` (admin always). 401 without a valid key, 403
 * with a key whose role may not do this. Every route that staff use declares its roles with it.
 */
export function requireStaff(deps: AppDeps, roles: StaffRole[]) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearer(request);
    if (!token) throw new AppError('unauthorized', 'Send an API key as "Authorization: Bearer plk_…"');
    const key = await verifyApiKey(deps.db, token);
    if (!key) throw new AppError('unauthorized', 'The API key is unknown or revoked');
    const actor: StaffActor = {
      kind: 'staff',
      tenantId: key.tenant_id,
      role: key.role,
      apiKeyId: key.id,
      crmKind: key.tenant_crm_kind,
    };
    request.actor = actor;
    if (actor.role !== 'admin' && !roles.includes(actor.role)) {
      throw new AppError('forbidden', `The ${actor.role} role may not do this`);
    }
    // Best effort, outside any transaction, at most once a minute per key: knowing a key is in use
    // helps rotate it safely, and a write on every request would cost every request a round trip.
    const now = deps.services.clock.now();
    if (!key.last_used_at || now.getTime() - key.last_used_at.getTime() > 60_000) {
      // The row may be the one verifyApiKey trusts for a while: mark it, so its next requests skip this.
      key.last_used_at = now;
      void deps.db
        .updateTable('api_keys')
        .set({ last_used_at: sql<Date>`now()` })
        .where('id', '=', key.id)
        .execute()
        .catch(() => {});
    }
  };
}

/** Resolves a partner link token for one of `purposes`, or throws the matching 401/403. */
export async function authenticateContact(
  deps: AppDeps,
  token: string,
  purposes: LinkPurpose[],
): Promise<ContactActor> {
  const resolved = await resolvePartnerLink(
    deps.db,
    deps.services.secrets.linkSigningKey,
    token,
    purposes,
    deps.services.clock.now(),
  );
  if (resolved === 'invalid') throw new AppError('unauthorized', 'This link is not valid');
  if (resolved === 'expired') throw new AppError('unauthorized', 'This link has expired; ask for a new one');
  if (resolved === 'revoked') throw new AppError('unauthorized', 'This link has been revoked');
  if (resolved === 'wrong_purpose') throw new AppError('forbidden', 'This link is not for this page');
  // Best effort, outside any transaction: when a link was last used helps decide whether to revoke it.
  void deps.db
    .updateTable('partner_links')
    .set({ last_used_at: sql<Date>`now()` })
    .where('id', '=', resolved.link.id)
    .execute()
    .catch(() => {});
  return {
    kind: 'contact',
    tenantId: resolved.link.tenant_id,
    contactId: resolved.link.contact_id,
    partnerId: resolved.partnerId,
    linkId: resolved.link.id,
    purpose: resolved.link.purpose,
    programId: resolved.link.program_id,
  };
}

/** A preHandler for partner-facing API routes: `Authorization: Bearer <link token>`. */
export function requireContact(deps: AppDeps, purposes: LinkPurpose[]) {
  return async (request: FastifyRequest) => {
    const token = bearer(request);
    if (!token) throw new AppError('unauthorized', 'Send your link token as "Authorization: Bearer …"');
    request.actor = await authenticateContact(deps, token, purposes);
  };
}

export function staffActor(request: FastifyRequest): StaffActor {
  if (request.actor?.kind !== 'staff') throw new AppError('unauthorized', 'Staff authentication required');
  return request.actor;
}

export function contactActor(request: FastifyRequest): ContactActor {
  if (request.actor?.kind !== 'contact') throw new AppError('unauthorized', 'A partner link is required');
  return request.actor;
}

/** The audit context of an authenticated request. */
export function auditContext(request: FastifyRequest, source = 'api'): AuditContext {
  const actor = request.actor;
  if (!actor) throw new AppError('unauthorized', 'Authentication required');
  return {
    tenantId: actor.tenantId,
    actorType: actor.kind === 'staff' ? 'api_key' : 'contact',
    actorId: actor.kind === 'staff' ? actor.apiKeyId : actor.contactId,
    source,
    ip: request.ip,
    requestId: request.id,
  };
}
