import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { submitRegistration } from '../registrations/registration.service.ts';
import type { RegistrationRow } from '../registrations/registration.table.ts';
import type { Services } from '../services.ts';
import { planAnswer } from './inbound-answers.ts';
import type { InboundParsed } from './inbound-parse.ts';
import { extractProspect } from './inbound-register.ts';
import type { TemplateData } from './template-engine.ts';

export interface RegisterByEmailInput {
  inboundMessageId: string;
  parsed: InboundParsed;
  /** The trimmed text: quotes and signature removed. */
  reply: string;
  tenantId: string;
  partnerId: string;
  /** From the referral code; null for a reply to the digest (then the partner's one open program). */
  programId: string | null;
  /** The sender, already checked to be a contact of the partner. */
  author: { id: string; name: string; email: string };
  services: Services;
  now: Date;
}

export interface RegisterByEmailOutcome {
  status: 'processed' | 'rejected';
  reason: string;
  registrationId?: string;
}

const RESULT: Record<RegistrationRow['check_outcome'], 'received' | 'duplicate' | 'conflict'> = {
  clear: 'received',
  duplicate_of: 'duplicate',
  conflict_with: 'conflict',
};

/** The program a reply to the digest registers into: the partner's only (or oldest) active enrolment. */
async function defaultProgram(tx: Tx, tenantId: string, partnerId: string): Promise<string | undefined> {
  const row = await tx
    .selectFrom('enrolments')
    .innerJoin('programs', (join) =>
      join
        .onRef('programs.id', '=', 'enrolments.program_id')
        .onRef('programs.tenant_id', '=', 'enrolments.tenant_id'),
    )
    .select('programs.id')
    .where('enrolments.tenant_id', '=', tenantId)
    .where('enrolments.partner_id', '=', partnerId)
    .where('enrolments.status', '=', 'active')
    .where('programs.status', '=', 'active')
    .orderBy('enrolments.created_at')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

function problemText(error: AppError): string {
  const fields = (error.details as { fields?: { field?: unknown; message?: unknown }[] } | undefined)?.fields;
  if (!Array.isArray(fields) || fields.length === 0) return error.message;
  return fields.map((f) => `${String(f.field ?? '').replace(/^body\./, '')} ${String(f.message)}`).join('; ');
}

/**
 * A partner contact's email describing a prospect becomes a registration through the same service
 * as every other source (source 'email'), and the contact gets the result as a reply in their own
 * thread: received, duplicate, conflict, or what could not be read. Runs in the inbox transaction,
 * so the registration, the answer and the message's outcome commit together, once.
 */
export async function registerByEmail(tx: Tx, input: RegisterByEmailInput): Promise<RegisterByEmailOutcome> {
  const { parsed } = input;
  const prospect = extractProspect(input.reply, input.author.email, parsed.subject);
  const answer = (data: TemplateData, registrationId: string | null) =>
    planAnswer(
      tx,
      {
        tenantId: input.tenantId,
        inboundMessageId: input.inboundMessageId,
        kind: 'registration',
        template: 'registration-by-email',
        contact: { id: input.author.id, email: input.author.email },
        registrationId,
        dealId: null,
        // Answers without a registration keep a thread of their own, and a reply to it is read as a
        // new try (see the processor): the partner just sends what was missing.
        thread: registrationId ? 'registration' : 'register',
        data: { preheader: 'Your registration by email', ...data },
        parsed,
      },
      input.now,
    );

  if (prospect.missing.length > 0) {
    const missing = prospect.missing.join(' and ');
    await answer({ answer: { unreadable: true, missing } }, null);
    return { status: 'rejected', reason: `registration by email: could not read ${missing}` };
  }
  const programId = input.programId ?? (await defaultProgram(tx, input.tenantId, input.partnerId));
  if (!programId) {
    const reason = 'your partner account is not enrolled in an open program.';
    await answer({ answer: { refused: true, reason } }, null);
    return { status: 'rejected', reason: 'registration by email: partner has no open program' };
  }

  // A refusal from the service must not abort the inbox transaction: the outcome and the answer
  // still have to be written. The savepoint undoes whatever the service did before it refused.
  await sql`savepoint register_by_email`.execute(tx);
  let row: RegistrationRow;
  try {
    row = await submitRegistration(
      tx,
      {
        services: input.services,
        audit: { tenantId: input.tenantId, actorType: 'contact', actorId: input.author.id, source: 'email' },
      },
      {
        tenantId: input.tenantId,
        programId,
        partnerId: input.partnerId,
        contactId: input.author.id,
        source: 'email',
        companyName: prospect.companyName!,
        website: prospect.website,
        contactName: prospect.contactName,
        contactEmail: prospect.contactEmail,
        notes: prospect.notes,
      },
    );
  } catch (error) {
    await sql`rollback to savepoint register_by_email`.execute(tx);
    if (!(error instanceof AppError)) throw error;
    const reason = problemText(error);
    await answer({ answer: { refused: true, reason } }, null);
    return { status: 'rejected', reason: `registration by email refused: ${reason}` };
  }
  await sql`release savepoint register_by_email`.execute(tx);

  const program = await tx
    .selectFrom('programs')
    .select('name')
    .where('tenant_id', '=', input.tenantId)
    .where('id', '=', row.program_id)
    .executeTakeFirst();
  const result = RESULT[row.check_outcome];
  const contact = [row.contact_name, row.contact_email && `<${row.contact_email}>`].filter(Boolean).join(' ');
  await answer(
    {
      answer: { [result]: true },
      registration: {
        company: row.company_name,
        domain: row.domain,
        contact: contact || null,
        programName: program?.name ?? '',
        reference: row.id.slice(0, 8).toUpperCase(),
      },
    },
    row.id,
  );
  return {
    status: 'processed',
    reason: `registration ${row.id} by email (${result})`,
    registrationId: row.id,
  };
}
