import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  type CompiledTemplate,
  parseTemplate,
  renderTemplate,
  type TemplateData,
} from './template-engine.ts';

/**
 * The catalogue of partner emails: each template's kind (what a contact unsubscribes from), its
 * subject, and its MJML and plain-text files in `templates/`. MJML is compiled once per template, on
 * first use, into HTML that still holds the placeholders; a send only fills them in.
 */

export const EMAIL_KINDS = {
  registrations: 'updates on your registrations',
  deals: 'deal updates',
  commissions: 'commission and payout notices',
  digest: 'the weekly digest',
  messages: 'messages from sales reps',
} as const;
export type EmailKind = keyof typeof EMAIL_KINDS;

export const TEMPLATES = {
  'registration-received': {
    kind: 'registrations',
    subject: 'Registration received: {{registration.company}}',
  },
  'registration-approved': {
    kind: 'registrations',
    subject: 'Registration approved: {{registration.company}}',
  },
  'registration-rejected': {
    kind: 'registrations',
    subject: 'Registration not approved: {{registration.company}}',
  },
  'registration-conflict': {
    kind: 'registrations',
    subject: 'Conflict found for your registration: {{registration.company}}',
  },
  'protection-expiring': {
    kind: 'registrations',
    subject: 'Protection ends in {{daysLeft}} days: {{registration.company}}',
  },
  'protection-expired': { kind: 'registrations', subject: 'Registration expired: {{registration.company}}' },
  'deal-stage-changed': { kind: 'deals', subject: '{{deal.name}} is now {{deal.stage}}' },
  'deal-won': { kind: 'deals', subject: 'Deal won: {{deal.name}}, commission {{commission.amount}}' },
  'commission-approved': { kind: 'commissions', subject: 'Commission approved: {{commission.amount}}' },
  'payout-sent': { kind: 'commissions', subject: 'Payout sent: {{payout.amount}}' },
  'weekly-digest': { kind: 'digest', subject: 'Your open referrals this week ({{digest.count}})' },
  'rep-message': {
    kind: 'messages',
    subject: 'Message from {{rep.name}}{{#deal.name}} about {{deal.name}}{{/deal.name}}',
  },
  // Answers to what a contact sent us (inbound-answers.ts); sent even after an unsubscribe.
  'registration-by-email': { kind: 'registrations', subject: 'Your registration by email' },
  'reply-not-accepted': { kind: 'messages', subject: 'Your email could not be added' },
} as const satisfies Record<string, { kind: EmailKind; subject: string }>;
export type TemplateName = keyof typeof TEMPLATES;
export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as TemplateName[];

export const REPLY_MARKER = '## Reply above this line ##';

const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
const CONTENT_SLOT = '<!-- content -->';
// MJML validates colours strictly, so the brand colour placeholder stands in as a sentinel colour
// during compilation and becomes a placeholder again afterwards.
const COLOR_PLACEHOLDER = '{{brand.color}}';
const COLOR_SENTINEL = '#0b0c0d';

export interface CompiledEmail {
  subject: CompiledTemplate;
  html: CompiledTemplate;
  text: CompiledTemplate;
}

export async function compileMjml(mjml: string): Promise<string> {
  // Loaded on the first compile, not at start: mjml takes ~300 ms to import, and a process that
  // sends no email (the API role, a fresh `npm start`) never needs it.
  const { default: mjml2html } = await import('mjml');
  const result = await mjml2html(mjml.replaceAll(COLOR_PLACEHOLDER, COLOR_SENTINEL), {
    validationLevel: 'strict',
    minify: false,
  });
  return result.html.replaceAll(COLOR_SENTINEL, COLOR_PLACEHOLDER);
}

export async function loadTemplateSources(name: TemplateName): Promise<{ mjml: string; text: string }> {
  const read = (file: string) => readFile(`${TEMPLATES_DIR}${file}`, 'utf8');
  const [layoutMjml, layoutText, mjml, text] = await Promise.all([
    read('layout.mjml'),
    read('layout.txt'),
    read(`${name}.mjml`),
    read(`${name}.txt`),
  ]);
  return {
    mjml: layoutMjml.replace(CONTENT_SLOT, mjml.trimEnd()),
    text: layoutText.replace(CONTENT_SLOT, text.trimEnd()),
  };
}

/** Compiles one template from its files, MJML included: the slow step, done once per process. */
export async function compileEmailTemplate(name: TemplateName): Promise<CompiledEmail> {
  const sources = await loadTemplateSources(name);
  return {
    subject: parseTemplate(TEMPLATES[name].subject, 'text'),
    html: parseTemplate(await compileMjml(sources.mjml), 'html'),
    text: parseTemplate(sources.text, 'text'),
  };
}

const cache = new Map<TemplateName, Promise<CompiledEmail>>();

export function compiledTemplate(name: TemplateName): Promise<CompiledEmail> {
  let compiled = cache.get(name);
  if (!compiled) {
    compiled = compileEmailTemplate(name);
    // A failed compilation is not cached: the next send tries again (e.g. after a fixed file).
    compiled.catch(() => cache.delete(name));
    cache.set(name, compiled);
  }
  return compiled;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** Fills the compiled template with `data`; HTML values are escaped, the subject is one line. */
export function renderCompiled(compiled: CompiledEmail, data: TemplateData): RenderedEmail {
  return {
    subject: renderTemplate(compiled.subject, data).replace(/\s+/g, ' ').trim(),
    html: renderTemplate(compiled.html, data),
    text: renderTemplate(compiled.text, data),
  };
}

export async function renderEmail(name: TemplateName, data: TemplateData): Promise<RenderedEmail> {
  return renderCompiled(await compiledTemplate(name), data);
}
