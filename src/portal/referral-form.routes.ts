import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import type { AuditContext } from '../audit/audit.repository.ts';
import { crmSubmitContext } from '../crm/crm-conflict-source.ts';
import { AppError } from '../errors/app-error.ts';
import { idempotentWrite } from '../http/idempotency.ts';
import { findProgram } from '../programs/program.repository.ts';
import type { ProgramRow } from '../programs/program.table.ts';
import { normalizeReferralCode, resolveReferralCode } from '../programs/referral-code.ts';
import { findTenant } from '../tenants/tenant.repository.ts';
import { issueCsrfToken, verifyCsrf } from './csrf.guard.ts';
import { html } from './html.template.ts';
import { findReferralReceipt } from './portal.repository.ts';
import { formValues, readProspect, readReferrer } from './registration-form.input.ts';
import { FormRejected, submitFromForm } from './registration-form.submit.ts';
import { type FormProblem, renderRegistrationForm } from './registration-form.view.ts';
import { renderConfirmation } from './registration-outcome.view.ts';

const UNKNOWN_CODE =
  'We do not recognise this referral code. Check it, or ask the partner who gave it to you for it again.';

const sendHtml = (reply: FastifyReply, status: number, body: string) =>
  reply.status(status).type('text/html; charset=utf-8').send(body);

/*
 * The confirmation of a referral-form submission is for the person who submitted it only. Its URL
 * carries an HMAC of the registration id, given out in the redirect after the post: without it, an
 * id (or a referral code, which is public) shows nothing, and one receipt never opens another.
 */
function receiptFor(key: Buffer, registrationId: string): string {
  return createHmac('sha256', key).update(`referral-receipt:${registrationId}`).digest('base64url');
}

function receiptValid(key: Buffer, registrationId: string, receipt: string): boolean {
  const expected = Buffer.from(receiptFor(key, registrationId));
  const given = Buffer.from(receipt);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

async function referralProgram(
  deps: AppDeps,
  code: string,
): Promise<{ program: ProgramRow; partnerId: string; enrolmentId: string } | undefined> {
  const resolved = await resolveReferralCode(deps.db, code);
  if (!resolved) return undefined;
  const program = await findProgram(deps.db, resolved.tenantId, resolved.programId);
  return program && { program, partnerId: resolved.partnerId, enrolmentId: resolved.enrolmentId };
}

function renderForm(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  program: ProgramRow | undefined,
  state: { status: number; values: Record<string, string>; problems: FormProblem[] },
) {
  const intro = program
    ? html`<p class="lede">Register a prospect for <strong>${program.name}</strong>. Tell us who you are, then about the company you are referring.</p>`
    : html`<p class="lede">Enter the referral code you were given, who you are, and the company you are referring.</p>`;
  return sendHtml(
    reply,
    state.status,
    renderRegistrationForm({
      heading: 'Refer a prospect',
      intro,
      action: '/register',
      csrfToken: issueCsrfToken(deps, request, reply),
      formFields: program?.form_fields ?? [],
      currency: program?.currency ?? null,
      referrer: true,
      values: state.values,
      problems: state.problems,
    }),
  );
}

/**
 * The shared referral form: a partner hands out a code or a `/r/<code>` link, and whoever has it
 * registers a prospect for that partner in that code's program, without any link token.
 */
export const referralPages: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get('/register', { schema: { hide: true } }, async (request, reply) =>
    renderForm(deps, request, reply, undefined, { status: 200, values: {}, problems: [] }),
  );

  app.get(
    '/r/:code',
    { schema: { hide: true, params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) }) } },
    async (request, reply) => {
      const { code } = request.params;
      const found = await referralProgram(deps, code);
      if (!found) {
        return renderForm(deps, request, reply, undefined, {
          status: 404,
          values: { referralCode: code },
          problems: [{ field: 'referralCode', message: UNKNOWN_CODE }],
        });
      }
      return renderForm(deps, request, reply, found.program, {
        status: 200,
        values: { referralCode: normalizeReferralCode(code), currency: found.program.currency },
        problems: [],
      });
    },
  );

  app.post(
    '/register',
    {
      bodyLimit: 64 * 1024,
      schema: {
        hide: true,
        body: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
      },
    },
    async (request, reply) => {
      verifyCsrf(deps, request, request.body);
      const values = formValues(request.body);
      const referrer = readReferrer(values);
      const code = (values.referralCode ?? '').trim();
      const found = code === '' ? undefined : await referralProgram(deps, code);
      if (!found) {
        // Without a program there is no form to check the rest against: say what we can.
        const read = readProspect(values, { currency: values.currency || 'USD', form_fields: [] });
        return renderForm(deps, request, reply, undefined, {
          status: 400,
          values,
          problems: [
            {
              field: 'referralCode',
              message: code === '' ? 'Enter the referral code you were given' : UNKNOWN_CODE,
            },
            ...referrer.problems,
            ...read.problems,
          ],
        });
      }
      const { program } = found;
      const read = readProspect(values, program);
      // The person filling in this form refers the prospect; the prospect's contact is in the
      // contact fields. Who referred it goes in the notes, where staff read it next to the rest,
      // rather than in custom fields, which belong to the program's own form and are checked against it.
      const signature = `Referred through the shared form by ${referrer.name} <${referrer.email}>.`;
      read.input.notes = read.input.notes ? `${signature}\n\n${read.input.notes}` : signature;
      read.problems.unshift(...referrer.problems);
      const audit: AuditContext = {
        tenantId: program.tenant_id,
        // Nobody signs in here: the actor is whoever holds the partner's code.
        actorType: 'system',
        actorId: `enrolment:${found.enrolmentId}`,
        source: 'referral_code',
        ip: request.ip,
        requestId: request.id,
      };
      try {
        const crm = await crmSubmitContext(deps.db, deps.services, program.tenant_id, read.input);
        const { body } = await idempotentWrite(deps.db, request, program.tenant_id, async (tx) => {
          const row = await submitFromForm(
            tx,
            { ...crm, services: deps.services, audit },
            {
              tenantId: program.tenant_id,
              programId: program.id,
              partnerId: found.partnerId,
              contactId: null,
              source: 'referral_code',
            },
            read,
          );
          return { status: 303, body: { registrationId: row.id } };
        });
        const id = body.registrationId;
        const receipt = receiptFor(deps.services.secrets.linkSigningKey, id);
        return reply.redirect(`/register/done/${id}?receipt=${encodeURIComponent(receipt)}`, 303);
      } catch (error) {
        if (error instanceof FormRejected) {
          return renderForm(deps, request, reply, program, { status: 400, values, problems: error.problems });
        }
        if (error instanceof AppError && (error.status === 404 || error.code === 'unprocessable')) {
          return renderForm(deps, request, reply, program, {
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
    '/register/done/:id',
    {
      schema: {
        hide: true,
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        querystring: Type.Object({ receipt: Type.Optional(Type.String({ maxLength: 100 })) }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const receipt = request.query.receipt ?? '';
      const notFound = new AppError(
        'not_found',
        'There is no such registration, or this link is incomplete.',
      );
      if (!receiptValid(deps.services.secrets.linkSigningKey, id, receipt)) throw notFound;
      const row = await findReferralReceipt(deps.db, id);
      if (!row) throw notFound;
      const [program, tenant] = await Promise.all([
        findProgram(deps.db, row.tenant_id, row.program_id),
        findTenant(deps.db, row.tenant_id),
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
          audience: 'referrer',
          back: { href: '/register', label: 'Refer another prospect' },
        }),
      );
    },
  );
};
