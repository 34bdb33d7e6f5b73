import { Parser } from 'htmlparser2';

/**
 * Where mail clients start the quoted history (or the sender's signature) in an HTML reply, after
 * Discourse's extractors: the first such element and everything after it is the part cut away.
 */
const CUT_CLASSES = new Set([
  'gmail_quote',
  'gmail_quote_container',
  'gmail_extra',
  'gmail_signature',
  'yahoo_quoted',
  'protonmail_quote',
  'protonmail_signature_block',
  'moz-cite-prefix',
  'moz-signature',
  'moz-forward-container',
  'zmail_extra',
  'outlookmessageheader',
  'ms-outlook-mobile-reference-message',
]);
const CUT_IDS = new Set([
  'divrplyfwdmsg',
  'appendonsend',
  'signature',
  'applemailsignature',
  'zwchr',
  'mail-editor-reference-message-container',
  'ms-outlook-mobile-signature',
  'composer_signature',
  'stopspelling',
]);
const OUTLOOK_HEADER_STYLE = /border:\s*none;\s*border-top:\s*solid/i;
const BLOCK = new Set([
  'p',
  'div',
  'li',
  'tr',
  'table',
  'ul',
  'ol',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'pre',
  'section',
  'article',
  'header',
  'footer',
  'hr',
]);
const SKIP = new Set(['style', 'script', 'head', 'title', 'template']);

/** Why this element starts the quoted part, or null. OWA re-prefixes copied ids and classes with `x_`. */
function cutReason(name: string, attribs: Record<string, string>): string | null {
  const strip = (value: string) => value.toLowerCase().replace(/^x_/, '');
  const id = attribs.id ? strip(attribs.id) : '';
  if (id && CUT_IDS.has(id)) return `#${id}`;
  for (const cls of (attribs.class ?? '').split(/\s+/)) {
    if (cls && CUT_CLASSES.has(strip(cls))) return `.${strip(cls)}`;
  }
  if (name === 'blockquote' && attribs.type?.toLowerCase() === 'cite') return 'blockquote[type=cite]';
  if (name === 'div' && attribs.name === 'messageReplySection') return 'div[name=messageReplySection]';
  if (attribs['data-marker'] === '__QUOTED_TEXT__' || attribs['data-marker'] === '__DIVIDER__')
    return `[data-marker=${attribs['data-marker']}]`;
  if (name === 'hr' && attribs.tabindex === '-1') return 'hr[tabindex=-1]';
  if (name === 'div' && OUTLOOK_HEADER_STYLE.test(attribs.style ?? '')) return 'outlook reply header';
  return null;
}

export interface HtmlSplit {
  /** Text of the reply: everything before the first quote/signature marker. */
  before: string;
  /** Text of what was cut: that marker and everything after it. */
  after: string;
  /** The marker that matched, or null when the whole message is reply. */
  cutAt: string | null;
}

function tidy(text: string): string {
  return text
    .replace(/\u00a0/g, ' ')
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/g, '').replace(/^[ \t]+/, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Converts HTML to plain text, split at the first element where a client starts the quoted history. */
export function splitHtml(html: string): HtmlSplit {
  const parts = ['', ''];
  let side = 0;
  let cutAt: string | null = null;
  let skipping = 0;
  let pre = 0;
  const push = (text: string) => {
    parts[side] += text;
  };
  const newline = () => {
    if (!parts[side]!.endsWith('\n')) push('\n');
  };
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (SKIP.has(name)) skipping++;
        if (side === 0 && skipping === 0) {
          const reason = cutReason(name, attribs);
          if (reason) {
            side = 1;
            cutAt = reason;
          }
        }
        if (name === 'pre') pre++;
        if (name === 'br') push('\n');
        else if (BLOCK.has(name)) newline();
        if (name === 'blockquote' && side === 1) push('> ');
      },
      ontext(text) {
        if (skipping > 0) return;
        push(pre > 0 ? text : text.replace(/[\s]+/g, ' '));
      },
      onclosetag(name) {
        if (SKIP.has(name)) skipping = Math.max(0, skipping - 1);
        if (name === 'pre') pre = Math.max(0, pre - 1);
        if (name === 'p') push('\n\n');
        else if (BLOCK.has(name)) newline();
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return { before: tidy(parts[0]!), after: tidy(parts[1]!), cutAt };
}
