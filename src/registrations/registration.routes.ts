import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { AppDeps } from '../app.ts';
import {
  auditContext,
  contactActor,
  requireContact,
  requireStaff,
  staffActor,
} from '../auth/authenticate.ts';
import { crmSubmitContext } from '../crm/crm-conflict-source.ts';
import type { Tx } from '../db/database.ts';
import { isUuid } from '../db/uuid.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { decodeCursor, pageFrom, pageOf } from '../http/pagination.ts';
import { periodEnd, periodStart } from '../http/period-bounds.ts';
import { findTenant } from '../tenants/tenant.repository.ts';
import type { RegistrationFilters, RegistrationScope } from './registration.repository.ts';
import { findRegistration, listRegistrations } from './registration.repository.ts';
import {
  IdParams,
  ListQuery,
  OutcomeBody,
  PortalRegistration,
  PortalSubmitBody,
  portalRegistrationView,
  ReasonBody,
  Registration,
  registrationView,
  SubmitBody,
} from './registration.schemas.ts';
import {
  approveRegistration,
  decideExtension,
  markOutcome,
  overrideConflict,
  type RegistrationTarget,
  rejectRegistration,
  requestExtension,
  submitRegistration,
} from './registration.service.ts';
import type { RegistrationRow } from './registration.table.ts';

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
  409: { $ref: 'ErrorResponse#' },
  422: { $ref: 'ErrorResponse#' },
};

/** The service names fields as the submission does (`companyName`); the API names them as the body. */
async function asBodyFields<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError && error.code === 'validation_failed') {
      const details = error.details as { fields?: { field: string; message: string }[] } | undefined;
      const fields = (details?.fields ?? []).map((f) => ({ ...f, field: `body.${f.field}` }));
      throw new AppError('validation_failed', error.message, { ...details, fields });
    }
    throw error;
  }
}

type Prospect = Omit<Static<typeof PortalSubmitBody>, 'programId'>;

function prospectInput(body: Prospect) {
  return {
    companyName: body.companyName,
    website: body.website ?? null,
    contactName: body.contactName ?? null,
    contactEmail: body.contactEmail ?? null,
    estimatedValue:
      body.estimatedValue === undefined || body.estimatedValue === null ? null : BigInt(body.estimatedValue),
    currency: body.currency ?? null,
    expectedClose: body.expectedClose ?? null,
    notes: body.notes ?? null,
    customFields: body.customFields ?? {},
  };
}

/** List filters; whole days are the tenant's calendar days. */
async function filtersOf(deps: AppDeps, tenantId: string, query: Static<typeof ListQuery>) {
  const filters: RegistrationFilters = {
    ...(query.status ? { status: query.status } : {}),
    ...(query.programId ? { programId: query.programId } : {}),
    ...(query.partnerId ? { partnerId: query.partnerId } : {}),
    ...(query.checkOutcome ? { checkOutcome: query.checkOutcome } : {}),
  };
  if (query.from || query.to) {
    const zone = (await findTenant(deps.db, tenantId))?.time_zone ?? 'UTC';
    if (query.from) filters.createdFrom = periodStart(query.from, zone, 'querystring.from');
    if (query.to) filters.createdBefore = periodEnd(query.to, zone, 'querystring.to');
  }
  const after = decodeCursor(query.cursor);
  if (after && !isUuid(after.id))
    throw new AppError('bad_request', 'The cursor is not one this API gave out');
  return { filters, page: { limit: query.limit ?? 50, after } };
}

/**
 * Deal registrations: staff list, submit on a partner's behalf, approve, reject, override conflicts,
 * decide extensions and record outcomes; partner contacts (by link) see and submit their own.
 */
export const registrationRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const anyStaff = requireStaff(deps, ['program_manager', 'sales_rep']);
  const managers = requireStaff(deps, ['program_manager']);
  const admin = requireStaff(deps, ['admin']);
  const viewer = requireContact(deps, ['submit_registration', 'view_referrals']);
  const submitter = requireContact(deps, ['submit_registration']);

  /** Runs a change in an idempotent transaction and answers with the registration. */
  async function change(
    request: FastifyRequest,
    tenantId: string,
    status: number,
    write: (tx: Tx) => Promise<RegistrationRow>,
    view: (row: RegistrationRow) => unknown = registrationView,
  ) {
    return idempotentWrite(deps.db, request, tenantId, async (tx) => ({
      status,
      body: view(await asBodyFields(() => write(tx))),
    }));
  }

  // Params are checked by IdParams before the handler runs.
  const staffTarget = (request: FastifyRequest): RegistrationTarget => ({
    tenantId: staffActor(request).tenantId,
    registrationId: (request.params as Static<typeof IdParams>).id,
  });
  const ctxOf = (request: FastifyRequest, source?: string) => ({
    services: deps.services,
    audit: auditContext(request, source),
  });

  app.get(
    '/registrations',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['registrations'],
        summary: 'List registrations, newest first',
        querystring: ListQuery,
        response: { 200: pageOf(Registration), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const { filters, page } = await filtersOf(deps, tenantId, request.query);
      const rows = await listRegistrations(deps.db, tenantId, filters, page);
      return pageFrom(rows, page.limit, registrationView);
    },
  );

  app.get(
    '/registrations/:id',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['registrations'],
        summary: 'One registration',
        params: IdParams,
        response: { 200: Registration, ...Errors },
      },
    },
    async (request) => {
      const row = await findRegistration(deps.db, staffActor(request).tenantId, request.params.id);
      if (!row) throw new AppError('not_found', 'Registration not found');
      return registrationView(row);
    },
  );

  app.post(
    '/registrations',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['registrations'],
        summary: "Submit a registration on a partner's behalf",
        body: SubmitBody,
        response: { 201: Registration, ...Errors },
      },
    },
    async (request, reply) => {
      const { tenantId, crmKind } = staffActor(request);
      const { programId, partnerId, contactId, ...prospect } = request.body;
      // A tenant without a CRM has no connection to look up: no round trip for it.
      const crm =
        crmKind === 'none' ? {} : await crmSubmitContext(deps.db, deps.services, tenantId, prospect);
      const { status, body } = await change(request, tenantId, 201, (tx) =>
        submitRegistration(
          tx,
          { ...ctxOf(request), ...crm },
          {
            tenantId,
            programId,
            partnerId,
            contactId: contactId ?? null,
            source: 'api',
            ...prospectInput(prospect),
          },
        ),
      );
      return reply.status(status).send(body);
    },
  );

  const staffAction = (
    path: string,
    summary: string,
    preHandler: ReturnType<typeof requireStaff>,
    run: (tx: Tx, request: FastifyRequest) => Promise<RegistrationRow>,
    body?: typeof ReasonBody | typeof OutcomeBody,
  ) =>
    app.post(
      `/registrations/:id/${path}`,
      {
        preHandler,
        schema: {
          tags: ['registrations'],
          summary,
          params: IdParams,
          ...(body ? { body } : {}),
          response: { 200: Registration, ...Errors },
        },
      },
      async (request, reply) => {
        const { status, body: result } = await change(request, staffActor(request).tenantId, 200, (tx) =>
          run(tx, request),
        );
        return reply.status(status).send(result);
      },
    );

  const reasonOf = (request: FastifyRequest) => (request.body as Static<typeof ReasonBody>).reason;

  staffAction('approve', 'Approve a submitted, clear registration', managers, (tx, request) =>
    approveRegistration(tx, ctxOf(request), staffTarget(request)),
  );
  staffAction(
    'reject',
    'Reject a submitted registration, with a reason',
    managers,
    (tx, request) => rejectRegistration(tx, ctxOf(request), staffTarget(request), reasonOf(request)),
    ReasonBody,
  );
  staffAction(
    'override',
    'Clear a conflict or duplicate finding, with a reason, so it can be approved (admin)',
    admin,
    (tx, request) => overrideConflict(tx, ctxOf(request), staffTarget(request), reasonOf(request)),
    ReasonBody,
  );
  staffAction('extension', 'Request an extension of the protection window (once)', anyStaff, (tx, request) =>
    requestExtension(tx, ctxOf(request), staffTarget(request)),
  );
  staffAction('extension/approve', 'Approve the requested extension', managers, (tx, request) =>
    decideExtension(tx, ctxOf(request), staffTarget(request), 'approve'),
  );
  staffAction('extension/reject', 'Reject the requested extension', managers, (tx, request) =>
    decideExtension(tx, ctxOf(request), staffTarget(request), 'reject'),
  );
  staffAction(
    'outcome',
    'Record that the deal was won or lost',
    anyStaff,
    (tx, request) =>
      markOutcome(
        tx,
        ctxOf(request),
        staffTarget(request),
        (request.body as Static<typeof OutcomeBody>).outcome,
      ),
    OutcomeBody,
  );

  // Partner-facing: a contact sees its own partner and the partners below it, never above or beside.
  const scopeOf = (request: FastifyRequest): RegistrationScope => ({
    partnerRootId: contactActor(request).partnerId,
  });

  app.get(
    '/portal/registrations',
    {
      preHandler: viewer,
      schema: {
        tags: ['portal'],
        summary: "The registrations of the contact's partner and the partners below it",
        security: [{ partnerLink: [] }],
        querystring: ListQuery,
        response: { 200: pageOf(PortalRegistration), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = contactActor(request);
      const { filters, page } = await filtersOf(deps, tenantId, request.query);
      const rows = await listRegistrations(deps.db, tenantId, filters, page, scopeOf(request));
      return pageFrom(rows, page.limit, portalRegistrationView);
    },
  );

  app.get(
    '/portal/registrations/:id',
    {
      preHandler: viewer,
      schema: {
        tags: ['portal'],
        summary: 'One registration of the contact’s partner subtree',
        security: [{ partnerLink: [] }],
        params: IdParams,
        response: { 200: PortalRegistration, ...Errors },
      },
    },
    async (request) => {
      const actor = contactActor(request);
      const row = await findRegistration(deps.db, actor.tenantId, request.params.id, scopeOf(request));
      if (!row) throw new AppError('not_found', 'Registration not found');
      return portalRegistrationView(row);
    },
  );

  app.post(
    '/portal/registrations',
    {
      preHandler: submitter,
      schema: {
        tags: ['portal'],
        summary: "Submit a registration as a partner contact, for the link's program",
        security: [{ partnerLink: [] }],
        body: PortalSubmitBody,
        response: { 201: PortalRegistration, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = contactActor(request);
      const { programId: asked, ...prospect } = request.body;
      if (actor.programId && asked && asked !== actor.programId) {
        throw new AppError('forbidden', 'This link is for another program');
      }
      const programId = actor.programId ?? asked;
      if (!programId) {
        throw new AppError('validation_failed', 'This link names no program: send programId', {
          fields: [{ field: 'body.programId', message: 'is required' }],
        });
      }
      const crm = await crmSubmitContext(deps.db, deps.services, actor.tenantId, prospect);
      const { status, body } = await change(
        request,
        actor.tenantId,
        201,
        (tx) =>
          submitRegistration(
            tx,
            { ...ctxOf(request, 'form'), ...crm },
            {
              tenantId: actor.tenantId,
              programId,
              partnerId: actor.partnerId,
              contactId: actor.contactId,
              source: 'form',
              ...prospectInput(prospect),
            },
          ),
        portalRegistrationView,
      );
      return reply.status(status).send(body);
    },
  );

  app.post(
    '/portal/registrations/:id/extension',
    {
      preHandler: viewer,
      schema: {
        tags: ['portal'],
        summary: 'Request an extension of the protection window (once)',
        security: [{ partnerLink: [] }],
        params: IdParams,
        response: { 200: PortalRegistration, ...Errors },
      },
    },
    async (request, reply) => {
      const actor = contactActor(request);
      const target = { tenantId: actor.tenantId, registrationId: request.params.id, scope: scopeOf(request) };
      const { status, body } = await change(
        request,
        actor.tenantId,
        200,
        (tx) => requestExtension(tx, ctxOf(request, 'form'), target),
        portalRegistrationView,
      );
      return reply.status(status).send(body);
    },
  );
};
