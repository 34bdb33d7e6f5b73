import EmailReplyParser from 'email-reply-parser';
import { splitHtml } from './inbound-html.ts';

/**
 * The line our notifications put above the quoted history (REPLY_MARKER of email-templates.ts,
 * `## Reply above this line ##`). Matching is on the words, so quoting (`> `) and decoration around
 * them do not matter.
 */
const MARKER_LINE = /^[>\s]*[#—–\-=_*\s]*(please\s+)?(type\s+your\s+)?reply above this line\b.*$/im;

// The text trimmer's regexes backtrack badly on long lines of repeated "On … wrote:" (a 200 KB line
// took 80 s): what reaches them is bounded, in total and per line. A reply is at the top; anything
// past the bound is kept with the quoted part.
const MAX_TEXT = 64 * 1024;
const MAX_LINE = 2_000;

/** Breaks lines longer than MAX_LINE at a space (or hard), so no single line is huge. */
function boundLines(text: string): string {
  if (!text.split('\n').some((line) => line.length > MAX_LINE)) return text;
  return text
    .split('\n')
    .flatMap((line) => {
      const out: string[] = [];
      let rest = line;
      while (rest.length > MAX_LINE) {
        const space = rest.lastIndexOf(' ', MAX_LINE);
        const at = space > MAX_LINE / 2 ? space : MAX_LINE;
        out.push(rest.slice(0, at));
        rest = rest.slice(at).replace(/^ /, '');
      }
      out.push(rest);
      return out;
    })
    .join('\n');
}

export interface TrimResult {
  /** What the sender wrote, quotes and signature removed. */
  reply: string;
  /** Everything that was cut, kept for reference. */
  quoted: string;
  /** What decided the cut: our marker, a client's HTML structure, the text trimmer, or nothing. */
  via: 'marker' | 'html' | 'text' | 'none';
}

function cutAtMarker(text: string): { before: string; after: string } | null {
  const match = MARKER_LINE.exec(text);
  if (!match) return null;
  return { before: text.slice(0, match.index), after: text.slice(match.index) };
}

const clean = (text: string) =>
  text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();

const QUOTE = /^\s*>/;
const ATTRIBUTION = /:\s*$/;

/**
 * A reply written between the quoted lines (inline/interleaved) loses its meaning without them, and
 * the text trimmer would keep only the answers: keep the whole exchange, quotes marked with `>`,
 * minus the attribution line above it and the quotes left below the last answer.
 */
function interleaved(text: string): { reply: string; quoted: string } | null {
  const lines = text.split('\n');
  const kinds = lines.map((l) => (l.trim() === '' ? '' : QUOTE.test(l) ? 'q' : 't'));
  const firstQuote = kinds.indexOf('q');
  const lastText = kinds.lastIndexOf('t');
  if (firstQuote < 0 || lastText < firstQuote) return null;
  const textBefore = kinds.slice(0, firstQuote).filter((k) => k === 't').length;
  let start = 0;
  // "On …, X wrote:" directly above the first quote is not part of the answer.
  if (textBefore === 1 && ATTRIBUTION.test(lines[kinds.indexOf('t')]!)) start = firstQuote;
  else if (textBefore > 0) return null;
  const middle = kinds.slice(firstQuote, lastText + 1);
  const quoteBlocks = middle.filter((k, i) => k === 'q' && middle[i - 1] !== 'q').length;
  const answerBlocks = middle.filter(
    (k, i) => k === 't' && middle.slice(0, i).includes('q') && middle[i - 1] !== 't',
  ).length;
  // A single quote followed by the answer is bottom-posting: the answer alone is the reply.
  if (quoteBlocks < 2 || answerBlocks < 2) return null;
  return {
    reply: lines.slice(start, lastText + 1).join('\n'),
    quoted: [...lines.slice(0, start), ...lines.slice(lastText + 1)].join('\n'),
  };
}

function trimText(text: string): { reply: string; quoted: string } {
  const inline = interleaved(text);
  if (inline) return inline;
  const email = new EmailReplyParser().read(text);
  const fragments = email.getFragments();
  return {
    reply: email.getVisibleText(),
    quoted: fragments
      .filter((f) => f.isHidden())
      .map((f) => f.getContent())
      .join('\n'),
  };
}

/**
 * Separates a reply from the quoted history and signature, in layers: our own "reply above this
 * line" marker first (exact, in every language), then the mail client's HTML structure (Gmail,
 * Outlook, Apple Mail, Thunderbird, Yahoo, Proton, Zimbra), then the text trimmer for what is left
 * ("On … wrote:", `>` quotes, Outlook header blocks, "Sent from my …" in several languages).
 */
export function trimReply(body: { text: string | null; html: string | null }): TrimResult {
  const quoted: string[] = [];
  let via: TrimResult['via'] = 'none';
  let base: string;
  const split = body.html ? splitHtml(body.html.slice(0, 2 * 1024 * 1024)) : null;
  if (split?.cutAt && clean(split.before)) {
    base = split.before;
    quoted.push(split.after);
    via = 'html';
  } else {
    base = body.text ?? split?.before ?? '';
  }
  base = boundLines(base.replace(/\r\n?/g, '\n'));
  if (base.length > MAX_TEXT) {
    quoted.unshift(base.slice(MAX_TEXT));
    base = base.slice(0, MAX_TEXT);
  }
  const marked = cutAtMarker(base);
  if (marked) {
    base = marked.before;
    quoted.unshift(marked.after);
    via = 'marker';
  }
  const trimmed = trimText(base);
  if (clean(trimmed.quoted)) {
    quoted.unshift(trimmed.quoted);
    if (via === 'none') via = 'text';
  }
  return { reply: clean(trimmed.reply), quoted: clean(quoted.filter((q) => clean(q)).join('\n')), via };
}
