import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.ts';
import { writeAudit } from '../audit/audit.repository.ts';
import {
  auditContext,
  contactActor,
  requireContact,
  requireStaff,
  staffActor,
} from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { publishEvent } from '../events/publish-event.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { pageFrom } from '../http/pagination.ts';
import { findEnrolmentOf } from '../programs/enrolment.repository.ts';
import { decodeUuidCursor, findProgram } from '../programs/program.repository.ts';
import { validationFailed } from '../programs/program.rules.ts';
import { findLink, findLinkContact, findPortalIdentity, listLinks } from './partner-link.repository.ts';
import {
  CreatedLink,
  Errors,
  IdParams,
  Link,
  LinkCreateBody,
  LinkListQuery,
  LinkPage,
  linkView,
  PortalMe,
} from './partner-link.schemas.ts';
import { insertPartnerLink, linkToken, revokePartnerLink } from './partner-link.service.ts';
import { LINK_PURPOSES } from './partner-link.table.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Signed partner links: staff create one per contact and purpose, list them (never their tokens) and
 * revoke them; a contact holding one asks /portal/me who it speaks for. The token is shown once, in
 * the response that creates it (and in that response's idempotent replay).
 */
export const partnerLinkRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const managers = requireStaff(deps, ['admin', 'program_manager']);

  app.post(
    '/links',
    {
      preHandler: managers,
      schema: {
        tags: ['links'],
        summary: 'Create a signed link for a partner contact (admin, program manager)',
        description:
          'The link works for one purpose until it expires or is revoked, and stops working while the ' +
          "contact's partner is suspended or archived. submit_registration links name a program the " +
          "contact's partner is actively enrolled in.",
        body: LinkCreateBody,
        response: { 201: CreatedLink, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const { contactId, purpose, expiresInDays = 30 } = request.body;
      const programId = request.body.programId ?? null;
      if (purpose === 'submit_registration' && programId === null) {
        throw validationFailed([
          { field: 'body.programId', message: 'is required for submit_registration links' },
        ]);
      }
      const { status, body } = await idempotentWrite(
        deps.db,
        request,
        actor.tenantId,
        async (tx) => {
          const contact = await findLinkContact(tx, actor.tenantId, contactId);
          if (!contact) throw new AppError('not_found', 'Contact not found');
          if (contact.partner_status === 'suspended' || contact.partner_status === 'archived') {
            throw new AppError('unprocessable', `The contact's partner is ${contact.partner_status}`);
          }
          if (programId !== null) {
            const program = await findProgram(tx, actor.tenantId, programId);
            if (!program) throw new AppError('not_found', 'Program not found');
            const enrolment = await findEnrolmentOf(tx, actor.tenantId, program.id, contact.partner_id);
            if (enrolment?.status !== 'active') {
              throw new AppError('unprocessable', "The contact's partner is not enrolled in this program");
            }
            if (purpose === 'submit_registration' && program.status !== 'active') {
              throw new AppError(
                'unprocessable',
                `The program is ${program.status}: it takes no registrations`,
              );
            }
          }
          const now = deps.services.clock.now();
          const link = await insertPartnerLink(tx, {
            tenantId: actor.tenantId,
            contactId: contact.id,
            purpose,
            programId,
            expiresAt: new Date(now.getTime() + expiresInDays * DAY_MS),
            createdBy: actor.apiKeyId,
          });
          // The token is never stored or logged; audit and event carry the link's id only.
          const token = linkToken(deps.services.secrets.linkSigningKey, link.id);
          await writeAudit(tx, auditContext(request), {
            action: 'link.created',
            subjectType: 'partner_link',
            subjectId: link.id,
            after: linkView(link, now),
          });
          await publishEvent(tx, {
            type: 'link.created',
            tenantId: actor.tenantId,
            subjectId: link.id,
            occurredAt: now,
            data: {
              contactId: contact.id,
              partnerId: contact.partner_id,
              purpose,
              programId,
              expiresAt: link.expires_at.toISOString(),
            },
          });
          return {
            status: 201,
            body: {
              id: link.id,
              url: `${deps.config.publicUrl}/p/${token}`,
              token,
              purpose: link.purpose,
              contactId: link.contact_id,
              programId: link.program_id,
              expiresAt: link.expires_at.toISOString(),
            },
          };
        },
        { sensitive: { key: deps.services.secrets.tokenEncryptionKey } },
      );
      return reply.status(status).send(body);
    },
  );

  app.get(
    '/links',
    {
      preHandler: managers,
      schema: {
        tags: ['links'],
        summary: 'List partner links, newest first, with their state (admin, program manager)',
        querystring: LinkListQuery,
        response: { 200: LinkPage, ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const { contactId, state } = request.query;
      if (contactId !== undefined && !(await findLinkContact(deps.db, tenantId, contactId))) {
        throw new AppError('not_found', 'Contact not found');
      }
      const now = deps.services.clock.now();
      const limit = request.query.limit ?? 50;
      const rows = await listLinks(deps.db, tenantId, {
        now,
        limit,
        ...(contactId ? { contactId } : {}),
        ...(state ? { state } : {}),
        ...(request.query.cursor ? { cursor: decodeUuidCursor(request.query.cursor) } : {}),
      });
      return pageFrom(rows, limit, (row) => linkView(row, now));
    },
  );

  app.delete(
    '/links/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['links'],
        summary: 'Revoke a partner link at once (admin, program manager); revoking again changes nothing',
        params: IdParams,
        response: { 200: Link, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const before = await findLink(tx, actor.tenantId, request.params.id, { lock: true });
        if (!before) throw new AppError('not_found', 'Link not found');
        const now = deps.services.clock.now();
        if (before.revoked_at) return { status: 200, body: linkView(before, now) };
        const revoked = await revokePartnerLink(tx, actor.tenantId, before.id);
        if (!revoked) throw new AppError('not_found', 'Link not found');
        const after = { ...revoked, created_at: before.created_at };
        await writeAudit(tx, auditContext(request), {
          action: 'link.revoked',
          subjectType: 'partner_link',
          subjectId: after.id,
          before: linkView(before, now),
          after: linkView(after, now),
        });
        await publishEvent(tx, {
          type: 'link.revoked',
          tenantId: actor.tenantId,
          subjectId: after.id,
          occurredAt: now,
          data: { contactId: after.contact_id, purpose: after.purpose },
        });
        return { status: 200, body: linkView(after, now) };
      });
      return reply.status(status).send(body);
    },
  );

  app.get(
    '/portal/me',
    {
      preHandler: requireContact(deps, LINK_PURPOSES),
      schema: {
        tags: ['portal'],
        summary: 'Who a partner link belongs to (any purpose): to check that a link works',
        security: [{ partnerLink: [] }],
        response: { 200: PortalMe, ...Errors },
      },
    },
    async (request) => {
      const actor = contactActor(request);
      const row = await findPortalIdentity(deps.db, actor);
      // The link resolved a moment ago; gone now means it was deleted with its contact.
      if (!row) throw new AppError('unauthorized', 'This link is not valid');
      return {
        contact: { id: row.contact_id, name: row.contact_name, email: row.contact_email },
        partner: { id: row.partner_id, name: row.partner_name },
        purpose: row.purpose,
        program:
          row.program_id !== null && row.program_name !== null
            ? { id: row.program_id, name: row.program_name }
            : null,
        expiresAt: row.expires_at.toISOString(),
      };
    },
  );
};
