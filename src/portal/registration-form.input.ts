import type { FormField } from '../programs/program.table.ts';
import { parseAmount } from './amount.parse.ts';
import { customFieldName, type FormProblem } from './registration-form.view.ts';

/**
 * A urlencoded form body as field name → text. A name sent twice keeps its first value (our forms
 * never repeat a name, so a repeat is someone else's crafting).
 */
export function formValues(body: unknown): Record<string, string> {
  // No prototype: a field named `__proto__` or `constructor` is just a field.
  const values: Record<string, string> = Object.create(null);
  if (typeof body !== 'object' || body === null) return values;
  for (const [name, value] of Object.entries(body)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') values[name] = first;
  }
  return values;
}

/** The prospect part of submitRegistration's input, as read from the form. */
export interface ProspectInput {
  companyName: string;
  website: string | null;
  contactName: string | null;
  contactEmail: string | null;
  /** Minor units of `currency`. */
  estimatedValue: bigint | null;
  currency: string | null;
  expectedClose: string | null;
  notes: string | null;
  customFields: Record<string, unknown>;
}

const blankToNull = (value: string | undefined) =>
  value === undefined || value.trim() === '' ? null : value;

/**
 * Reads the standard and custom fields. Only what HTML forms cannot express is checked here (the
 * typed amount); everything else is left to submitRegistration, so the API and the pages enforce
 * one set of rules. The problems found here are shown together with the service's.
 */
export function readProspect(
  values: Record<string, string>,
  program: { currency: string; form_fields: FormField[] },
): { input: ProspectInput; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const currency = blankToNull(values.currency)?.trim().toUpperCase() ?? null;
  let estimatedValue: bigint | null = null;
  const amount = blankToNull(values.estimatedValue);
  if (amount !== null) {
    const parsed = parseAmount(amount, currency ?? program.currency);
    if (parsed.ok) estimatedValue = parsed.minor;
    else problems.push({ field: 'estimatedValue', message: parsed.message });
  }
  const customFields: Record<string, unknown> = {};
  for (const field of program.form_fields) {
    // Raw text: the service turns a number field's text into a number, or says why it cannot.
    const value = blankToNull(values[customFieldName(field.key)]);
    if (value !== null) customFields[field.key] = value;
  }
  return {
    input: {
      companyName: values.companyName ?? '',
      website: blankToNull(values.website),
      contactName: blankToNull(values.contactName),
      contactEmail: blankToNull(values.contactEmail),
      estimatedValue,
      currency,
      expectedClose: blankToNull(values.expectedClose),
      notes: blankToNull(values.notes),
      customFields,
    },
    problems,
  };
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:".]+(\.[^\s@<>()[\]\\,;:".]+)+$/;

/** Who filled in the shared referral form: required there, so staff know whom to thank and ask. */
export function readReferrer(values: Record<string, string>): {
  name: string;
  email: string;
  problems: FormProblem[];
} {
  const problems: FormProblem[] = [];
  const name = (values.submitterName ?? '').trim();
  const email = (values.submitterEmail ?? '').trim();
  if (name === '') problems.push({ field: 'submitterName', message: 'Enter your name' });
  else if (name.length > 200)
    problems.push({ field: 'submitterName', message: 'Must be at most 200 characters' });
  if (email === '') problems.push({ field: 'submitterEmail', message: 'Enter your email address' });
  else if (email.length > 320 || !EMAIL.test(email))
    problems.push({ field: 'submitterEmail', message: 'Enter an email address like name@example.com' });
  return { name, email, problems };
}
