import { AppError } from '../errors/app-error.ts';
import type { FormField, ProgramRow } from '../programs/program.table.ts';
import { companyKey } from './company-key.ts';
import { companyDomainOfEmail, registrableDomain } from './domain-normalize.ts';
import type { RegistrationSource } from './registration.table.ts';

/** What every source (API, public form, referral code, email) hands to submitRegistration. */
export interface SubmitRegistrationInput {
  tenantId: string;
  programId: string;
  partnerId: string;
  contactId?: string | null;
  source: RegistrationSource;
  companyName: string;
  website?: string | null;
  contactName?: string | null;
  contactEmail?: string | null;
  /** Minor units of `currency`. */
  estimatedValue?: bigint | null;
  /** ISO 4217; the program's currency when absent. */
  currency?: string | null;
  /** 'YYYY-MM-DD'. */
  expectedClose?: string | null;
  notes?: string | null;
  customFields?: Record<string, unknown>;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** The submission, checked and normalised, ready to store. */
export interface CleanSubmission {
  companyName: string;
  companyKey: string;
  website: string | null;
  domain: string | null;
  contactName: string | null;
  contactEmail: string | null;
  estimatedValue: bigint | null;
  currency: string;
  expectedClose: string | null;
  notes: string | null;
  customFields: Record<string, unknown>;
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
// JSON carries amounts as numbers (registration.schemas.ts), exact only up to 2^53 − 1.
const MAX_AMOUNT = BigInt(Number.MAX_SAFE_INTEGER);

// Intl's list of the ISO 4217 codes it knows: `new Intl.NumberFormat(…, { currency })` accepts any three
// letters ("ZZZ"), so it cannot tell a code from a typo.
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export function isCalendarDate(value: string): boolean {
  const match = DAY.exec(value);
  if (!match) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** Trimmed text, or null when absent or blank; a problem when longer than `max`. */
function text(
  value: string | null | undefined,
  field: string,
  max: number,
  problems: FieldProblem[],
): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    problems.push({ field, message: 'must be text' });
    return null;
  }
  const trimmed = value.trim();
  if (trimmed.length > max) problems.push({ field, message: `must be at most ${max} characters` });
  return trimmed === '' ? null : trimmed;
}

function checkCustomField(field: FormField, value: unknown, problems: FieldProblem[]): unknown {
  const name = `customFields.${field.key}`;
  const blank = value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
  if (blank) {
    if (field.required) problems.push({ field: name, message: 'is required' });
    return undefined;
  }
  switch (field.type) {
    case 'text':
      if (typeof value !== 'string') problems.push({ field: name, message: 'must be text' });
      else if (value.length > 2000)
        problems.push({ field: name, message: 'must be at most 2000 characters' });
      else return value.trim();
      return undefined;
    case 'number': {
      // A number, or the text of one: HTML forms send every value as text.
      const n = typeof value === 'string' ? Number(value.trim()) : value;
      if (typeof n !== 'number' || !Number.isFinite(n))
        problems.push({ field: name, message: 'must be a number' });
      else return n;
      return undefined;
    }
    case 'date':
      if (typeof value !== 'string' || !isCalendarDate(value.trim()))
        problems.push({ field: name, message: 'must be a date (YYYY-MM-DD)' });
      else return value.trim();
      return undefined;
    case 'select':
      if (typeof value !== 'string' || !(field.options ?? []).includes(value))
        problems.push({ field: name, message: `must be one of: ${(field.options ?? []).join(', ')}` });
      else return value;
      return undefined;
  }
}

/**
 * Checks a submission against the program's form and normalises it. Collects every problem (adding
 * them to those the caller already found) and throws one `validation_failed` listing them all.
 */
export function validateSubmission(
  input: SubmitRegistrationInput,
  program: ProgramRow,
  problems: FieldProblem[] = [],
): CleanSubmission {
  const companyName = text(input.companyName, 'companyName', 300, problems);
  const key = companyName ? companyKey(companyName) : '';
  if (!companyName) problems.push({ field: 'companyName', message: 'is required' });
  else if (key === '') problems.push({ field: 'companyName', message: 'must contain letters or digits' });

  const website = text(input.website, 'website', 2048, problems);
  const websiteDomain = website ? registrableDomain(website) : null;
  if (website && !websiteDomain)
    problems.push({ field: 'website', message: 'is not a website with a public domain name' });

  const email = text(input.contactEmail, 'contactEmail', 320, problems)?.toLowerCase() ?? null;
  if (email && (!EMAIL.test(email) || !registrableDomain(email.slice(email.lastIndexOf('@') + 1))))
    problems.push({ field: 'contactEmail', message: 'is not an email address' });

  const contactName = text(input.contactName, 'contactName', 200, problems);
  const notes = text(input.notes, 'notes', 10_000, problems);

  const value = input.estimatedValue ?? null;
  if (value !== null && (typeof value !== 'bigint' || value < 0n || value > MAX_AMOUNT))
    problems.push({
      field: 'estimatedValue',
      message: 'must be a whole, non-negative number of minor units',
    });

  const currency = text(input.currency, 'currency', 3, problems)?.toUpperCase() ?? program.currency;
  if (!CURRENCIES.has(currency))
    problems.push({ field: 'currency', message: 'is not an ISO 4217 currency code' });

  const expectedClose = text(input.expectedClose, 'expectedClose', 10, problems);
  if (expectedClose && !isCalendarDate(expectedClose))
    problems.push({ field: 'expectedClose', message: 'must be a date (YYYY-MM-DD)' });

  const given = input.customFields ?? {};
  const customFields: Record<string, unknown> = {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    problems.push({ field: 'customFields', message: 'must be an object' });
  } else {
    const known = new Map(program.form_fields.map((field) => [field.key, field]));
    for (const key of Object.keys(given)) {
      if (!known.has(key))
        problems.push({ field: `customFields.${key}`, message: 'is not a field of this form' });
    }
    for (const field of program.form_fields) {
      const clean = checkCustomField(field, given[field.key], problems);
      if (clean !== undefined) customFields[field.key] = clean;
    }
  }

  if (problems.length > 0) {
    const summary = problems.map((p) => `${p.field} ${p.message}`).join('; ');
    throw new AppError('validation_failed', `Invalid registration: ${summary}`, { fields: problems });
  }
  return {
    companyName: companyName!,
    companyKey: key,
    website,
    // Without a website, the contact's company mailbox still names the prospect's domain.
    domain: websiteDomain ?? companyDomainOfEmail(email),
    contactName,
    contactEmail: email,
    estimatedValue: value,
    currency,
    expectedClose,
    notes,
    customFields,
  };
}
