import type { FormField } from '../programs/program.table.ts';
import { CSRF_FIELD } from './csrf.guard.ts';
import { attr, html, type SafeHtml } from './html.template.ts';
import { page } from './page.layout.ts';

/** A problem with one form field (`field` is the input's name), or with the form as a whole (no field). */
export interface FormProblem {
  field?: string;
  message: string;
}

interface InputSpec {
  name: string;
  label: string;
  kind: 'text' | 'email' | 'date' | 'number' | 'textarea' | 'select';
  required?: boolean;
  hint?: string;
  autocomplete?: string;
  inputmode?: string;
  maxlength?: number;
  options?: string[];
}

/** The fields every registration form has; names match submitRegistration's input and error fields. */
const PROSPECT_FIELDS: InputSpec[] = [
  { name: 'companyName', label: 'Company name', kind: 'text', required: true, maxlength: 300 },
  {
    name: 'website',
    label: 'Website',
    kind: 'text',
    hint: 'For example acme.com',
    inputmode: 'url',
    autocomplete: 'off',
    maxlength: 2048,
  },
  {
    name: 'contactName',
    label: 'Contact name',
    kind: 'text',
    hint: 'The person you are talking to at the company',
    autocomplete: 'off',
    maxlength: 200,
  },
  { name: 'contactEmail', label: 'Contact email', kind: 'email', autocomplete: 'off', maxlength: 320 },
];

const DEAL_FIELDS = (currency: string | null): InputSpec[] => [
  {
    name: 'estimatedValue',
    label: 'Estimated value',
    kind: 'text',
    hint: `An amount in the currency below, for example 12,500.50`,
    inputmode: 'decimal',
    autocomplete: 'off',
    maxlength: 40,
  },
  {
    name: 'currency',
    label: 'Currency',
    kind: 'text',
    hint: `Three-letter code; ${currency ?? "the program's currency"} if left empty`,
    autocomplete: 'off',
    maxlength: 3,
  },
  { name: 'expectedClose', label: 'Expected close date', kind: 'date' },
  { name: 'notes', label: 'Notes', kind: 'textarea', maxlength: 10_000 },
];

/** On the shared referral form, the person filling it in is the referrer, not the prospect. */
const REFERRER_FIELDS: InputSpec[] = [
  {
    name: 'referralCode',
    label: 'Referral code',
    kind: 'text',
    required: true,
    hint: 'The code your partner gave you, for example K7QM-3XPA',
    autocomplete: 'off',
    maxlength: 64,
  },
  {
    name: 'submitterName',
    label: 'Your name',
    kind: 'text',
    required: true,
    autocomplete: 'name',
    maxlength: 200,
  },
  {
    name: 'submitterEmail',
    label: 'Your email',
    kind: 'email',
    required: true,
    autocomplete: 'email',
    maxlength: 320,
  },
];

export const customFieldName = (key: string) => `customFields.${key}`;

function customSpecs(fields: FormField[]): InputSpec[] {
  return fields.map((field) => ({
    name: customFieldName(field.key),
    label: field.label,
    kind: field.type === 'number' ? 'number' : field.type,
    required: field.required,
    ...(field.options ? { options: field.options } : {}),
    ...(field.type === 'number' ? { inputmode: 'decimal' } : {}),
    ...(field.type === 'text' ? { maxlength: 2000 } : {}),
  }));
}

export interface RegistrationFormModel {
  /** The page's heading and title. */
  heading: string;
  intro?: SafeHtml;
  /** Where the form posts: the page's own path. */
  action: string;
  csrfToken: string;
  /** The program's extra fields; none when the program is not known yet (blank referral form). */
  formFields: FormField[];
  /** The program's currency, the default; null while the program is not known. */
  currency: string | null;
  /** The shared referral-code form also asks who refers the prospect. */
  referrer: boolean;
  values: Record<string, string>;
  problems: FormProblem[];
}

/** Ids are derived from field positions, so any custom field key makes a valid, unique id. */
function idsFor(specs: InputSpec[]): Map<string, string> {
  const ids = new Map<string, string>();
  specs.forEach((spec, i) => {
    ids.set(spec.name, /^[A-Za-z]+$/.test(spec.name) ? `field-${spec.name}` : `field-custom-${i}`);
  });
  return ids;
}

function renderInput(spec: InputSpec, id: string, value: string, errors: string[]): SafeHtml {
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [spec.hint ? hintId : '', errors.length ? errorId : ''].filter(Boolean).join(' ');
  const common = html`${attr('id', id)}${attr('name', spec.name)}${attr('required', spec.required)}${attr(
    'aria-required',
    spec.required && 'true',
  )}${attr('aria-invalid', errors.length > 0 && 'true')}${attr('aria-describedby', describedBy || null)}`;
  let control: SafeHtml;
  if (spec.kind === 'textarea') {
    control = html`<textarea${common}${attr('maxlength', spec.maxlength)} rows="5">${value}</textarea>`;
  } else if (spec.kind === 'select') {
    const options = spec.options ?? [];
    control = html`<select${common}>
<option value=""${attr('selected', value === '')}>Choose…</option>
${options.map((o) => html`<option${attr('value', o)}${attr('selected', o === value)}>${o}</option>`)}
</select>`;
  } else {
    // Numbers stay text inputs: a browser's number input drops what it cannot parse, and the person
    // would then see their typing vanish instead of an error next to it.
    const type = spec.kind === 'number' ? 'text' : spec.kind;
    control = html`<input${attr('type', type)}${common}${attr('value', value)}${attr(
      'maxlength',
      spec.maxlength,
    )}${attr('inputmode', spec.inputmode)}${attr('autocomplete', spec.autocomplete)}>`;
  }
  return html`<div class="${errors.length ? 'field has-error' : 'field'}">
<label${attr('for', id)}>${spec.label}${spec.required ? html` <span class="req">(required)</span>` : ''}</label>
${spec.hint ? html`<span class="hint"${attr('id', hintId)}>${spec.hint}</span>` : ''}
${errors.length ? html`<p class="field-error"${attr('id', errorId)}><span class="visually-hidden">Error: </span>${errors.join('; ')}</p>` : ''}
${control}
</div>`;
}

/**
 * The service words its problems as the end of a sentence ("is required"), this form as whole
 * sentences ("Enter your name"): the first kind is completed with the field's label.
 */
function sentence(label: string, message: string): string {
  return /^[a-z]/.test(message) ? `${label} ${message}` : message;
}

/** The registration form, blank or re-rendered with the person's values and every problem. */
export function renderRegistrationForm(model: RegistrationFormModel): string {
  const custom = customSpecs(model.formFields);
  const all = [
    ...(model.referrer ? REFERRER_FIELDS : []),
    ...PROSPECT_FIELDS,
    ...DEAL_FIELDS(model.currency),
    ...custom,
  ];
  const ids = idsFor(all);
  const byField = new Map<string, string[]>();
  const general: string[] = [];
  for (const problem of model.problems) {
    const spec = all.find((s) => s.name === problem.field);
    if (spec) {
      const messages = byField.get(spec.name) ?? [];
      const text = sentence(spec.label, problem.message);
      if (!messages.includes(text)) byField.set(spec.name, [...messages, text]);
    } else {
      general.push(problem.field ? sentence(problem.field, problem.message) : problem.message);
    }
  }
  const field = (spec: InputSpec) =>
    renderInput(spec, ids.get(spec.name)!, model.values[spec.name] ?? '', byField.get(spec.name) ?? []);

  // `autofocus` takes the keyboard and screen reader to the list of problems without any script.
  const summary =
    model.problems.length > 0
      ? html`<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" autofocus>
<h2 id="error-summary-title">There is a problem</h2>
<ul>
${general.map((message) => html`<li>${message}</li>`)}
${all
  .filter((spec) => byField.has(spec.name))
  .flatMap((spec) =>
    (byField.get(spec.name) ?? []).map(
      (message) => html`<li><a${attr('href', `#${ids.get(spec.name)}`)}>${message}</a></li>`,
    ),
  )}
</ul>
</div>`
      : '';

  // `novalidate`: the server's messages, all in one summary, replace the browser's one-at-a-time
  // bubbles; `required` and `aria-required` still tell assistive technology.
  const body = html`${summary}<h1>${model.heading}</h1>
${model.intro ?? ''}
<form method="post"${attr('action', model.action)} novalidate>
<input type="hidden"${attr('name', CSRF_FIELD)}${attr('value', model.csrfToken)}>
${model.referrer ? html`<fieldset><legend>About you</legend>${REFERRER_FIELDS.map(field)}</fieldset>` : ''}
<fieldset><legend>The prospect</legend>${PROSPECT_FIELDS.map(field)}</fieldset>
<fieldset><legend>The opportunity</legend>${DEAL_FIELDS(model.currency).map(field)}</fieldset>
${custom.length ? html`<fieldset><legend>More about this opportunity</legend>${custom.map(field)}</fieldset>` : ''}
<button type="submit">Register this prospect</button>
</form>`;
  return page({ title: model.heading, hasErrors: model.problems.length > 0, body });
}
