import type { Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { type SubmitContext, submitRegistration } from '../registrations/registration.service.ts';
import type { RegistrationRow, RegistrationSource } from '../registrations/registration.table.ts';
import type { ProspectInput } from './registration-form.input.ts';
import type { FormProblem } from './registration-form.view.ts';

/** The form's problems, to be shown next to their fields; thrown to roll the transaction back. */
export class FormRejected extends Error {
  constructor(readonly problems: FormProblem[]) {
    super('The form has problems');
    this.name = 'FormRejected';
  }
}

function serviceProblems(error: AppError): FormProblem[] {
  const fields = (error.details as { fields?: { field?: unknown; message?: unknown }[] } | undefined)?.fields;
  if (!Array.isArray(fields)) return [{ message: error.message }];
  return fields.map((f) => ({
    field: typeof f.field === 'string' ? f.field.replace(/^body\./, '') : undefined,
    message: typeof f.message === 'string' ? f.message : 'is not valid',
  }));
}

/**
 * Submits a form's registration in the caller's transaction. The problems the form found itself
 * (an unreadable amount, a missing referrer) and those submitRegistration finds are shown together,
 * so the person fixes everything in one go. When only the form's own checks failed, the service has
 * already written the row, its audit entry and its event in this transaction: throwing rolls all of
 * them back, so nothing is half-written.
 */
export async function submitFromForm(
  tx: Tx,
  ctx: SubmitContext,
  who: {
    tenantId: string;
    programId: string;
    partnerId: string;
    contactId: string | null;
    source: RegistrationSource;
  },
  read: { input: ProspectInput; problems: FormProblem[] },
): Promise<RegistrationRow> {
  let row: RegistrationRow;
  try {
    row = await submitRegistration(tx, ctx, { ...who, ...read.input });
  } catch (error) {
    if (error instanceof AppError && error.code === 'validation_failed') {
      throw new FormRejected([...read.problems, ...serviceProblems(error)]);
    }
    throw error;
  }
  if (read.problems.length > 0) throw new FormRejected(read.problems);
  return row;
}
