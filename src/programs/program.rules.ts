import type { DbOrTx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { existingTierIds } from './program.repository.ts';
import type { ProgramPatch } from './program.schemas.ts';

export interface FieldProblem {
  field: string;
  message: string;
}

/** The fields every registration form has; a program's own fields may not reuse their keys. */
export const STANDARD_REGISTRATION_FIELDS = [
  'company_name',
  'website',
  'contact_name',
  'contact_email',
  'estimated_value',
  'currency',
  'expected_close',
  'notes',
] as const;

const STANDARD = new Set<string>(STANDARD_REGISTRATION_FIELDS);

// Intl.NumberFormat accepts any well-formed code ("ZZZ"), so check against the list Intl knows.
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** True when `code` is an upper-case ISO 4217 currency code that this runtime knows. */
export function isKnownCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code);
}

/**
 * The semantic problems of a program's create or patch body, every one of them, in the shape of a
 * schema error (`body.formFields.2.key`). Only the fields present are checked, except the dates,
 * which are checked as they will be after the change (`current` holds the stored ones).
 */
export async function programInputProblems(
  db: DbOrTx,
  tenantId: string,
  input: ProgramPatch,
  current: { startsOn: string | null; endsOn: string | null } = { startsOn: null, endsOn: null },
): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = [];

  if (input.currency !== undefined && !isKnownCurrency(input.currency)) {
    problems.push({ field: 'body.currency', message: 'is not an ISO 4217 currency code (e.g. USD, EUR)' });
  }

  const startsOn = input.startsOn !== undefined ? input.startsOn : current.startsOn;
  const endsOn = input.endsOn !== undefined ? input.endsOn : current.endsOn;
  // 'YYYY-MM-DD' strings order as the days do.
  if (startsOn !== null && endsOn !== null && endsOn < startsOn) {
    problems.push({
      field: input.endsOn !== undefined ? 'body.endsOn' : 'body.startsOn',
      message: `must leave endsOn (${endsOn}) on or after startsOn (${startsOn})`,
    });
  }

  const seen = new Set<string>();
  for (const [i, field] of (input.formFields ?? []).entries()) {
    const at = `body.formFields.${i}`;
    if (STANDARD.has(field.key)) {
      problems.push({ field: `${at}.key`, message: `"${field.key}" is a standard registration field` });
    } else if (seen.has(field.key)) {
      problems.push({ field: `${at}.key`, message: `"${field.key}" is used by an earlier field` });
    }
    seen.add(field.key);
    if (field.type === 'select') {
      if (!field.options || field.options.length === 0) {
        problems.push({ field: `${at}.options`, message: 'is required for a select field' });
      } else if (new Set(field.options).size !== field.options.length) {
        problems.push({ field: `${at}.options`, message: 'must not repeat an option' });
      }
    } else if (field.options !== undefined) {
      problems.push({ field: `${at}.options`, message: 'is only for select fields' });
    }
  }

  const tierLists: [string, string[]][] = [
    ['body.eligibleTierIds', input.eligibleTierIds ?? []],
    ['body.autoApprove.tierIds', input.autoApprove?.tierIds ?? []],
  ];
  const known = await existingTierIds(
    db,
    tenantId,
    tierLists.flatMap(([, ids]) => ids),
  );
  for (const [path, ids] of tierLists) {
    for (const [i, id] of ids.entries()) {
      if (!known.has(id)) problems.push({ field: `${path}.${i}`, message: 'is not a tier of this tenant' });
    }
  }
  return problems;
}

/** The 400 for semantic problems, in the same shape as Fastify's schema errors. */
export function validationFailed(problems: FieldProblem[]): AppError {
  const summary = problems.map((p) => `${p.field} ${p.message}`).join('; ');
  return new AppError('validation_failed', `Invalid body: ${summary}`, { fields: problems });
}
