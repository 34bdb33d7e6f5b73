import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { PageQuery, pageFrom, pageOf } from '../http/pagination.ts';
import { partnerCursor, writeContext } from './partner.http.ts';
import { findPartner, listPartners } from './partner.repository.ts';
import {
  CreatePartnerBody,
  CreateTierBody,
  Errors,
  IdParams,
  ListPartnersQuery,
  MoveBody,
  Partner,
  partnerView,
  Tier,
  tierView,
  UpdatePartnerBody,
  UpdateTierBody,
} from './partner.schemas.ts';
import {
  addTier,
  changePartner,
  changeTier,
  createPartner,
  movePartnerAudited,
  referenceProblems,
  validationFailed,
} from './partner.service.ts';
import { partnerContactRoutes } from './partner-contact.routes.ts';
import { partnerImportRoutes } from './partner-import.routes.ts';
import { partnerPortalRoutes } from './partner-portal.routes.ts';
import { listTiers } from './tier.repository.ts';

/**
 * Partners, their hierarchy and tiers, for tenant staff: everyone reads (sales reps see the
 * partners attached to their deals), admins and program managers change. Contacts, the CSV import
 * and the partner contacts' own view are registered from their files below.
 */
export const partnerRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const readers = requireStaff(deps, ['admin', 'program_manager', 'sales_rep']);
  const writers = requireStaff(deps, ['admin', 'program_manager']);

  app.get(
    '/partners',
    {
      preHandler: readers,
      schema: {
        tags: ['partners'],
        summary: 'List partners, newest first',
        querystring: Type.Object({ ...PageQuery, ...ListPartnersQuery }),
        response: { 200: pageOf(Partner), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const q = request.query;
      if (q.subtree && q.parent === undefined) {
        throw validationFailed([
          { field: 'query.subtree', message: 'needs a parent to take the subtree of' },
        ]);
      }
      const limit = q.limit ?? 50;
      const rows = await listPartners(
        deps.db,
        tenantId,
        { parentId: q.parent, subtree: q.subtree, status: q.status, kind: q.kind, tierId: q.tier },
        { limit, cursor: partnerCursor(q.cursor) },
      );
      return pageFrom(rows, limit, partnerView);
    },
  );

  app.get(
    '/partners/:id',
    {
      preHandler: readers,
      schema: {
        tags: ['partners'],
        summary: 'One partner',
        params: IdParams,
        response: { 200: Partner, ...Errors },
      },
    },
    async (request) => {
      const row = await findPartner(deps.db, staffActor(request).tenantId, request.params.id);
      if (!row) throw new AppError('not_found', 'Partner not found');
      return partnerView(row);
    },
  );

  app.post(
    '/partners',
    {
      preHandler: writers,
      schema: {
        tags: ['partners'],
        summary: 'Create a partner (admin, program manager)',
        body: CreatePartnerBody,
        response: { 201: Partner, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const body = request.body;
      const problems = await referenceProblems(deps.db, actor.tenantId, body);
      if (problems.length) throw validationFailed(problems);
      const ctx = writeContext(deps, request);
      const { status, body: response } = await idempotentWrite(
        deps.db,
        request,
        actor.tenantId,
        async (tx) => {
          const row = await createPartner(tx, ctx, {
            name: body.name,
            kind: body.kind,
            status: body.status,
            tierId: body.tierId,
            parentId: body.parentId,
            externalId: body.externalId,
            payoutDetails: body.payoutDetails,
          });
          return { status: 201, body: partnerView(row) };
        },
      );
      return reply.status(status).send(response);
    },
  );

  app.patch(
    '/partners/:id',
    {
      preHandler: writers,
      schema: {
        tags: ['partners'],
        summary: 'Change a partner: name, kind, tier, status, external id, payout details',
        params: IdParams,
        body: UpdatePartnerBody,
        response: { 200: Partner, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const body = request.body;
      if (!(await findPartner(deps.db, actor.tenantId, request.params.id))) {
        throw new AppError('not_found', 'Partner not found');
      }
      const problems = await referenceProblems(deps.db, actor.tenantId, { tierId: body.tierId });
      if (problems.length) throw validationFailed(problems);
      const ctx = writeContext(deps, request);
      const { status, body: response } = await idempotentWrite(
        deps.db,
        request,
        actor.tenantId,
        async (tx) => {
          const { after } = await changePartner(tx, ctx, request.params.id, {
            name: body.name,
            kind: body.kind,
            status: body.status,
            tier_id: body.tierId,
            external_id: body.externalId,
            payout_details: body.payoutDetails === undefined ? undefined : JSON.stringify(body.payoutDetails),
          });
          return { status: 200, body: partnerView(after) };
        },
      );
      return reply.status(status).send(response);
    },
  );

  app.post(
    '/partners/:id/move',
    {
      preHandler: writers,
      schema: {
        tags: ['partners'],
        summary: 'Move a partner under another (or to the top); refuses a cycle with 409 hierarchy_cycle',
        params: IdParams,
        body: MoveBody,
        response: { 200: Partner, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const { parentId } = request.body;
      if (!(await findPartner(deps.db, actor.tenantId, request.params.id))) {
        throw new AppError('not_found', 'Partner not found');
      }
      const problems = await referenceProblems(deps.db, actor.tenantId, { parentId });
      if (problems.length) throw validationFailed(problems);
      const ctx = writeContext(deps, request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const { partner } = await movePartnerAudited(tx, ctx, request.params.id, parentId);
        return { status: 200, body: partnerView(partner) };
      });
      return reply.status(status).send(body);
    },
  );

  // A tenant has a handful of tiers, shown best first: one unpaginated list.
  app.get(
    '/tiers',
    {
      preHandler: readers,
      schema: {
        tags: ['partners'],
        summary: 'List tiers, best (highest rank) first',
        response: { 200: Type.Object({ items: Type.Array(Tier) }), ...Errors },
      },
    },
    async (request) => ({ items: (await listTiers(deps.db, staffActor(request).tenantId)).map(tierView) }),
  );

  app.post(
    '/tiers',
    {
      preHandler: writers,
      schema: {
        tags: ['partners'],
        summary: 'Create a tier (admin, program manager)',
        body: CreateTierBody,
        response: { 201: Tier, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const ctx = writeContext(deps, request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const row = await addTier(tx, ctx, request.body);
        return { status: 201, body: tierView(row) };
      });
      return reply.status(status).send(body);
    },
  );

  app.patch(
    '/tiers/:id',
    {
      preHandler: writers,
      schema: {
        tags: ['partners'],
        summary: 'Rename or re-rank a tier (admin, program manager)',
        params: IdParams,
        body: UpdateTierBody,
        response: { 200: Tier, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = staffActor(request);
      const ctx = writeContext(deps, request);
      const { status, body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
        const row = await changeTier(tx, ctx, request.params.id, request.body);
        return { status: 200, body: tierView(row) };
      });
      return reply.status(status).send(body);
    },
  );

  await app.register(partnerContactRoutes, { deps });
  await app.register(partnerImportRoutes, { deps });
  await app.register(partnerPortalRoutes, { deps });
};
