import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { requireStaff, staffActor } from '../auth/authenticate.ts';
import { AppError } from '../errors/app-error.ts';
import { findRegistration } from '../registrations/registration.repository.ts';
import { IdParams } from '../registrations/registration.schemas.ts';
import type { TimelineNoteRow } from './inbound-message.table.ts';
import { listRegistrationNotes } from './inbound-note.repository.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const TimelineNote = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    registrationId: Nullable(Type.String({ format: 'uuid' })),
    dealId: Nullable(Type.String({ format: 'uuid' })),
    source: Type.Union([Type.Literal('email'), Type.Literal('registration'), Type.Literal('rep')]),
    author: Type.Object({ contactId: Nullable(Type.String({ format: 'uuid' })), name: Type.String() }),
    body: Type.String(),
    inboundMessageId: Nullable(Type.String({ format: 'uuid' })),
    createdAt: Type.String({ format: 'date-time' }),
    crmNoteId: Nullable(Type.String()),
    crmSyncedAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { title: 'Timeline note' },
);

export function timelineNoteView(row: TimelineNoteRow) {
  return {
    id: row.id,
    registrationId: row.registration_id,
    dealId: row.deal_id,
    source: row.source,
    author: { contactId: row.author_contact_id, name: row.author_name },
    body: row.body,
    inboundMessageId: row.inbound_message_id,
    createdAt: row.created_at.toISOString(),
    crmNoteId: row.crm_note_id,
    crmSyncedAt: row.crm_synced_at?.toISOString() ?? null,
  };
}

const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  403: { $ref: 'ErrorResponse#' },
  404: { $ref: 'ErrorResponse#' },
};

/** A registration's timeline notes (partner replies by email, …): where they live without a CRM. */
export const inboundNoteRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const anyStaff = requireStaff(deps, ['program_manager', 'sales_rep']);
  app.get(
    '/registrations/:id/notes',
    {
      preHandler: anyStaff,
      schema: {
        tags: ['registrations'],
        summary: "A registration's timeline notes, oldest first",
        params: IdParams,
        response: { 200: Type.Object({ data: Type.Array(TimelineNote) }), ...Errors },
      },
    },
    async (request) => {
      const { tenantId } = staffActor(request);
      const registration = await findRegistration(deps.db, tenantId, request.params.id);
      if (!registration) throw new AppError('not_found', 'Registration not found');
      const rows = await listRegistrationNotes(deps.db, tenantId, registration.id);
      return { data: rows.map(timelineNoteView) };
    },
  );
};
