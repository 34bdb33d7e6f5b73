import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import type { ContactActor } from '../auth/actor.ts';
import { auditContext, authenticateContact } from '../auth/authenticate.ts';
import { crmSubmitContext } from '../crm/crm-conflict-source.ts';
import { isUuid } from '../db/uuid.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { decodeCursor, pageFrom } from '../http/pagination.ts';
import { findProgram } from '../programs/program.repository.ts';
import type { ProgramRow } from '../programs/program.table.ts';
import { findRegistration } from '../registrations/registration.repository.ts';
import { findTenant } from '../tenants/tenant.repository.ts';
import { issueCsrfToken, verifyCsrf } from './csrf.guard.ts';
import { html } from './html.template.ts';
import { activeEnrolmentProgramIds, findLinkHolder, listSubtreeRegistrations } from './portal.repository.ts';
import { formValues, readProspect } from './registration-form.input.ts';
import { FormRejected, submitFromForm } from './registration-form.submit.ts';
import { type FormProblem, renderRegistrationForm } from './registration-form.view.ts';
import { renderConfirmation, renderReferralList } from './registration-outcome.view.ts';

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) });
const PAGE_SIZE = 50;

const sendHtml = (reply: FastifyReply, status: number, body: string) =>
  reply.status(status).type('text/html; charset=utf-8').send(body);

/** The program a registration link's form is for: the link's own, or the partner's only one. */
async function linkProgram(deps: AppDeps, actor: ContactActor): Promise<ProgramRow> {
  let programId = actor.programId;
  if (!programId) {
    const enrolled = await activeEnrolmentProgramIds(deps.db, actor.tenantId, actor.partnerId);
    if (enrolled.length !== 1) {
      throw new AppError(
        'unprocessable',
        enrolled.length === 0
          ? 'Your firm is not taking part in a program that accepts registrations right now.'
          : 'This link does not say which program the registration is for; ask for a link for one program.',
      );
    }
    programId = enrolled[0]!;
  }
  const program = await findProgram(deps.db, actor.tenantId, programId);
  if (!program) throw new AppError('not_found', 'The program of this link no longer exists.');
  return program;
}

async function renderForm(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  actor: ContactActor,
  program: ProgramRow,
  token: string,
  state: { status: number; values: Record<string, string>; problems: FormProblem[] },
) {
  const holder = await findLinkHolder(deps.db, actor.tenantId, actor.contactId);
  const intro = html`<p class="lede">${holder ? `Hello ${holder.contactName}. ` : ''}Register a prospect for <strong>${program.name}</strong>${holder ? html` on behalf of <strong>${holder.partnerName}</strong>` : ''}. We check it against other partners' registrations and tell you straight away whether it is yours.</p>`;
  return sendHtml(
    reply,
    state.status,
    renderRegistrationForm({
      heading: 'Register a prospect',
      intro,
      action: `/p/${encodeURIComponent(token)}`,
      csrfToken: issueCsrfToken(deps, request, reply),
      formFields: program.form_fields,
      currency: program.currency,
      referrer: false,
      values: state.values,
      problems: state.problems,
    }),
  );
}

/**
 * The pages behind a partner link (`/p/<token>`): no account and no password; the signed, expiring,
 * single-purpose link is the credential. A `submit_registration` link shows the registration form,
 * a `view_referrals` link the registrations of the contact's partner and the partners below it.
 */
export const partnerLinkPages: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/p/:token',
    {
      schema: {
        hide: true,
        params: TokenParams,
        querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 500 })) }),
      },
    },
    async (request, reply) => {
      const { token } = request.params;
      const actor = await authenticateContact(deps, token, ['submit_registration', 'view_referrals']);
      request.actor = actor;
      if (actor.purpose === 'submit_registration') {
        const program = await linkProgram(deps, actor);
        if (program.status !== 'active') {
          throw new AppError('unprocessable', `The program "${program.name}" is not taking registrations.`);
        }
        return renderForm(deps, request, reply, actor, program, token, {
          status: 200,
          values: { currency: program.currency },
          problems: [],
        });
      }
      const after = decodeCursor(request.query.cursor);
      if (after && !isUuid(after.id))
        throw new AppError('bad_request', 'This page link is not one we gave out.');
      const [rows, holder, tenant] = await Promise.all([
        listSubtreeRegistrations(deps.db, actor.tenantId, actor.partnerId, { limit: PAGE_SIZE, after }),
        findLinkHolder(deps.db, actor.tenantId, actor.contactId),
        findTenant(deps.db, actor.tenantId),
      ]);
      const page = pageFrom(rows, PAGE_SIZE, (row) => row);
      return sendHtml(
        reply,
        200,
        renderReferralList({
          partnerName: holder?.partnerName ?? 'your firm',
          rows: page.items,
          now: deps.services.clock.now(),
          timeZone: tenant?.time_zone ?? 'UTC',
          nextHref: page.nextCursor
            ? `/p/${encodeURIComponent(token)}?cursor=${encodeURIComponent(page.nextCursor)}`
            : null,
        }),
      );
    },
  );

  app.post(
    '/p/:token',
    {
      bodyLimit: 64 * 1024,
      schema: {
        hide: true,
        params: TokenParams,
        body: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
      },
    },
    async (request, reply) => {
      const { token } = request.params;
      const actor = await authenticateContact(deps, token, ['submit_registration']);
      request.actor = actor;
      verifyCsrf(deps, request, request.body);
      const program = await linkProgram(deps, actor);
      const values = formValues(request.body);
      const read = readProspect(values, program);
      try {
        const crm = await crmSubmitContext(deps.db, deps.services, actor.tenantId, read.input);
        const { body } = await idempotentWrite(deps.db, request, actor.tenantId, async (tx) => {
          const row = await submitFromForm(
            tx,
            { ...crm, services: deps.services, audit: auditContext(request, 'form') },
            {
              tenantId: actor.tenantId,
              programId: program.id,
              partnerId: actor.partnerId,
              contactId: actor.contactId,
              source: 'form',
            },
            read,
          );
          return { status: 303, body: { registrationId: row.id } };
        });
        // Post/redirect/get: reloading the confirmation does not submit the form again.
        return reply.redirect(`/p/${encodeURIComponent(token)}/registrations/${body.registrationId}`, 303);
      } catch (error) {
        if (error instanceof FormRejected) {
          return renderForm(deps, request, reply, actor, program, token, {
            status: 400,
            values,
            problems: error.problems,
          });
        }
        // The program closed, or the partner left it, since the form was shown: say so on the form,
        // keeping what the person typed.
        if (error instanceof AppError && (error.status === 404 || error.code === 'unprocessable')) {
          return renderForm(deps, request, reply, actor, program, token, {
            status: error.status,
            values,
            problems: [{ message: error.message }],
          });
        }
        throw error;
      }
    },
  );

  app.get(
    '/p/:token/registrations/:id',
    {
      schema: {
        hide: true,
        params: Type.Object({
          token: Type.String({ minLength: 1, maxLength: 200 }),
          id: Type.String({ format: 'uuid' }),
        }),
      },
    },
    async (request, reply) => {
      const { token, id } = request.params;
      const actor = await authenticateContact(deps, token, ['submit_registration', 'view_referrals']);
      request.actor = actor;
      const row = await findRegistration(deps.db, actor.tenantId, id, { partnerRootId: actor.partnerId });
      if (!row) throw new AppError('not_found', 'There is no such registration for your link.');
      const [program, tenant] = await Promise.all([
        findProgram(deps.db, actor.tenantId, row.program_id),
        findTenant(deps.db, actor.tenantId),
      ]);
      return sendHtml(
        reply,
        200,
        renderConfirmation({
          row,
          programName: program?.name ?? '',
          now: deps.services.clock.now(),
          timeZone: tenant?.time_zone ?? 'UTC',
          protectionDays: program?.protection_days ?? 0,
          audience: 'partner',
          back: {
            href: `/p/${encodeURIComponent(token)}`,
            label:
              actor.purpose === 'submit_registration'
                ? 'Register another prospect'
                : 'Back to your registrations',
          },
        }),
      );
    },
  );
};
