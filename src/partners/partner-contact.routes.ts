import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { PageQuery, pageFrom, pageOf } from '../http/pagination.ts';
import { partnerCursor, writeContext } from './partner.http.ts';
import { findPartner } from './partner.repository.ts';
import {
  Contact,
  CreateContactBody,
  contactView,
  Errors,
  IdParams,
  UpdateContactBody,
} from './partner.schemas.ts';
import { addContact, changeContact, removeContact } from './partner.service.ts';
import { findContact, listContacts } from './partner-contact.repository.ts';

/** The people of a partner: many per partner, one email once per partner (lower-cased). */
export const partnerContactRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const readers = requireStaff(deps, ['admin', 'program_manager', 'sales_rep']);
  const writers = requireStaff(deps, ['admin', 'program_manager']);

  app.get(
    '/partners/:id/contacts',
    {
      preHandler: readers,
      schema: {
        tags: ['partners'],
        summary: "A partner's contacts, newest first",
        params: IdParams,
        querystring: Type.Object({ ...PageQuery }),
        response: { 200: pageOf(Contact), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      if (!(await findPartner(deps.db, tenantId, request.params.id))) {
        throw new AppError('not_found', 'Partner not found');
      }
      const limit = request.query.limit ?? 50;
      const rows = await listContacts(deps.db, tenantId, request.params.id, {
        limit,
        cursor: partnerCursor(request.query.cursor),
      });
      return pageFrom(rows, limit, contactView);
    },
  );

  app.post(
    '/partners/:id/contacts',
    {
      preHandler: writers,
      schema: {
        tags: ['partners'],
        summary: 'Add a contact to a partner (admin, program manager)',
        params: IdParams,
        body: CreateContactBody,
        response: { 201: Contact, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      if (!(await findPartner(deps.db, actor.tenantId, request.params.id))) {
        throw new AppError('not_found', 'Partner not found');
      }
      const ctx = writeContext(deps, request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const row = await addContact(tx, ctx, request.params.id, request.body);
        return { status: 201, body: contactView(row) };
      });
      return reply.status(status).send(body);
    },
  );

  app.get(
    '/contacts/:id',
    {
      preHandler: readers,
      schema: {
        tags: ['partners'],
        summary: 'One contact',
        params: IdParams,
        response: { 200: Contact, ...Errors },
      },
    },
    async (request) => {
      const row = await findContact(deps.db, staffActor(request).tenantId, request.params.id);
      if (!row) throw new AppError('not_found', 'Contact not found');
      return contactView(row);
    },
  );

  app.patch(
    '/contacts/:id',
    {
      preHandler: writers,
      schema: {
        tags: ['partners'],
        summary: "Change a contact's name, email or role (admin, program manager)",
        params: IdParams,
        body: UpdateContactBody,
        response: { 200: Contact, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const ctx = writeContext(deps, request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const row = await changeContact(tx, ctx, request.params.id, request.body);
        return { status: 200, body: contactView(row) };
      });
      return reply.status(status).send(body);
    },
  );

  app.delete(
    '/contacts/:id',
    {
      preHandler: writers,
      schema: {
        tags: ['partners'],
        summary: 'Delete a contact and revoke its links (admin, program manager); returns what was deleted',
        params: IdParams,
        response: { 200: Contact, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const ctx = writeContext(deps, request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const row = await removeContact(tx, ctx, request.params.id);
        return { status: 200, body: contactView(row) };
      });
      return reply.status(status).send(body);
    },
  );
};
