import { createHash } from 'node:crypto';
import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';
import { withoutNul } from '../db/nul-characters.ts';

/** What processing needs from one raw email, parsed once. */
export interface InboundParsed {
  /** Lower-cased address of the first From mailbox; null when there is none. */
  from: string | null;
  fromName: string | null;
  /** To and Cc addresses, then the relay headers that carry the envelope recipient. */
  recipients: string[];
  subject: string;
  messageId: string | null;
  /** In-Reply-To, then References: the first five ids (clients append; ours come first). */
  replyIds: string[];
  text: string | null;
  html: string | null;
  contentType: string;
  /** Raw header values by lower-case name, every occurrence kept (Authentication-Results repeats). */
  headers: Map<string, string[]>;
}

export class MalformedEmailError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEmailError';
  }
}

const RELAY_RECIPIENT_HEADERS = [
  'delivered-to',
  'x-original-to',
  'x-envelope-to',
  'envelope-to',
  'x-forwarded-to',
];
// An RFC 5322 header section starts with a field name and a colon; anything else is not an email.
const HEADER_START = /^[\x21-\x39\x3b-\x7e]+:/;

/** Message-ID when present, else a SHA-256 of the raw bytes (as Discourse does). */
export function dedupKeyOf(raw: Buffer, messageId: string | null | undefined): string {
  const id = messageId?.trim();
  if (id) return `mid:${id.replace(/^<|>$/g, '').toLowerCase()}`.slice(0, 998);
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/**
 * The Message-ID straight from the header section, without a full parse: the HTTP route and the
 * SMTP receiver need it to deduplicate before they acknowledge.
 */
export function peekMessageId(raw: Buffer): string | null {
  const end = raw.indexOf('\r\n\r\n');
  const end2 = raw.indexOf('\n\n');
  const stop = [end, end2].filter((i) => i >= 0).sort((a, b) => a - b)[0] ?? Math.min(raw.length, 64 * 1024);
  const head = raw
    .subarray(0, Math.min(stop, 256 * 1024))
    .toString('latin1')
    .replace(/\r?\n[ \t]+/g, ' ');
  const match = /^message-id:[ \t]*(<[^>\r\n]{1,900}>)/im.exec(head);
  return match ? match[1]! : null;
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  const out: string[] = [];
  for (const group of list) {
    for (const entry of group.value) {
      if (entry.address) out.push(entry.address.toLowerCase());
      for (const member of entry.group ?? []) if (member.address) out.push(member.address.toLowerCase());
    }
  }
  return out;
}

/** Splits In-Reply-To/References on whitespace and commas (Exchange and iOS use commas). */
export function messageIdsOf(...values: (string | string[] | undefined)[]): string[] {
  const ids: string[] = [];
  for (const value of values) {
    for (const part of Array.isArray(value) ? value : value ? [value] : []) {
      for (const token of part.split(/[\s,]+/)) {
        const id = token.trim().replace(/^<|>$/g, '');
        if (id && !ids.includes(id)) ids.push(id);
      }
    }
  }
  return ids.slice(0, 5);
}

function headerMap(parsed: ParsedMail): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const { key, line } of parsed.headerLines) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    map.set(key, [...(map.get(key) ?? []), value]);
  }
  return map;
}

function envelopeRecipients(headers: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const name of RELAY_RECIPIENT_HEADERS) {
    for (const value of headers.get(name) ?? []) {
      for (const match of value.matchAll(/[^\s<>,;"]+@[^\s<>,;"]+/g)) out.push(match[0].toLowerCase());
    }
  }
  return out;
}

/** Parses a raw RFC 5322 message; throws MalformedEmailError when it is not one we can read. */
export async function parseInbound(raw: Buffer): Promise<InboundParsed> {
  const firstLine = raw.subarray(0, 1000).toString('latin1').replace(/^\s+/, '');
  if (!HEADER_START.test(firstLine)) throw new MalformedEmailError('no header section');
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(raw, {
      skipImageLinks: true,
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      maxHtmlLengthToParse: 2 * 1024 * 1024,
    });
  } catch (error) {
    throw new MalformedEmailError(`MIME parse failed: ${(error as Error).message}`);
  }
  const headers = headerMap(parsed);
  if (!headers.has('from')) throw new MalformedEmailError('no From header');
  const from = addresses(parsed.from)[0] ?? null;
  if (!from) throw new MalformedEmailError('From header holds no address');
  const contentType = parsed.headers.get('content-type') as { value?: string } | string | undefined;
  return {
    from,
    // The texts are stored (outcome, notes, registrations): a NUL character, which PostgreSQL
    // cannot hold, becomes U+FFFD.
    fromName: withoutNul(parsed.from?.value[0]?.name || null),
    recipients: [
      ...new Set([...addresses(parsed.to), ...addresses(parsed.cc), ...envelopeRecipients(headers)]),
    ],
    subject: withoutNul(parsed.subject ?? ''),
    messageId: parsed.messageId ?? null,
    replyIds: messageIdsOf(parsed.inReplyTo, parsed.references),
    text: withoutNul(parsed.text ?? null),
    html: withoutNul(typeof parsed.html === 'string' ? parsed.html : null),
    contentType: (typeof contentType === 'string'
      ? contentType
      : (contentType?.value ?? 'text/plain')
    ).toLowerCase(),
    headers,
  };
}
