import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { contactActor, requireContact } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { PageQuery, pageFrom, pageOf } from '../http/pagination.ts';
import { partnerCursor } from './partner.http.ts';
import { findPartnerInSubtree, listPartners } from './partner.repository.ts';
import { Errors, IdParams, PortalPartner, portalPartnerView } from './partner.schemas.ts';

/**
 * What a partner contact (signed in by a partner link) sees of partners: its own partner and the
 * partners below it, at any depth; never a parent or a sibling. The scope is part of each query.
 */
export const partnerPortalRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const contact = requireContact(deps, ['view_referrals', 'submit_registration', 'view_statements']);

  app.get(
    '/portal/partners',
    {
      preHandler: contact,
      schema: {
        tags: ['portal'],
        summary: "The contact's own partner and every partner below it, newest first",
        security: [{ partnerLink: [] }],
        querystring: Type.Object({ ...PageQuery }),
        response: { 200: pageOf(PortalPartner), ...Errors },
      },
    },
    async (request) => {
      const actor = contactActor(request);
      const limit = request.query.limit ?? 50;
      const rows = await listPartners(
        deps.db,
        actor.tenantId,
        { withinSubtreeOf: actor.partnerId },
        { limit, cursor: partnerCursor(request.query.cursor) },
      );
      return pageFrom(rows, limit, (row) => portalPartnerView(row, actor.partnerId));
    },
  );

  app.get(
    '/portal/partners/:id',
    {
      preHandler: contact,
      schema: {
        tags: ['portal'],
        summary: "One partner of the contact's subtree (404 for any other)",
        security: [{ partnerLink: [] }],
        params: IdParams,
        response: { 200: PortalPartner, ...Errors },
      },
    },
    async (request) => {
      const actor = contactActor(request);
      const row = await findPartnerInSubtree(deps.db, actor.tenantId, actor.partnerId, request.params.id);
      if (!row) throw new AppError('not_found', 'Partner not found');
      return portalPartnerView(row, actor.partnerId);
    },
  );
};
