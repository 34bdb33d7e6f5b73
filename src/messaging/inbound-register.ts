import { companyDomainOfEmail, registrableDomain } from '../registrations/domain-normalize.ts';

/**
 * Registration by email, the part that needs no database: which of our addresses a message was
 * sent to (`register+<referral code>@`, `unsubscribe+<token>-<kind>@`), and what prospect a
 * partner described in the (already trimmed) text. The rules are deliberately simple and
 * predictable, so a partner can learn them from one answer: labelled lines first, then the first
 * address or domain that is not the sender's own.
 */

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const bare = (address: string) =>
  address
    .trim()
    .replace(/^.*<([^>]*)>.*$/s, '$1')
    .toLowerCase();

/** `<local>+<value>@domain` (or `<local><value>@domain` when a relay dropped the plus); else null. */
function taggedLocalPart(address: string, local: string, domain: string): string | null {
  const match = new RegExp(`^${local}\\+?([^@\\s]+)@${escapeRegExp(domain.toLowerCase())}$`).exec(
    bare(address),
  );
  return match?.[1] ?? null;
}

/** The referral code in `register+<code>@<domain>`, as written (resolveReferralCode normalizes it). */
export function referralCodeFromAddress(address: string, domain: string): string | null {
  return taggedLocalPart(address, 'register', domain);
}

/** The `<token>-<kind>` of `unsubscribe+<token>-<kind>@<domain>` (List-Unsubscribe's mailto). */
export function unsubscribeValueFromAddress(address: string, domain: string): string | null {
  return taggedLocalPart(address, 'unsubscribe', domain);
}

export interface ProspectFields {
  companyName: string | null;
  website: string | null;
  contactName: string | null;
  contactEmail: string | null;
  notes: string | null;
}

export interface ExtractedProspect extends ProspectFields {
  /** What we could not find and need to register: names as a partner would write the label. */
  missing: string[];
}

const LABELS: Record<string, keyof ProspectFields | 'email'> = {
  company: 'companyName',
  'company name': 'companyName',
  customer: 'companyName',
  prospect: 'companyName',
  organisation: 'companyName',
  organization: 'companyName',
  account: 'companyName',
  website: 'website',
  'web site': 'website',
  web: 'website',
  site: 'website',
  url: 'website',
  domain: 'website',
  contact: 'contactName',
  'contact name': 'contactName',
  name: 'contactName',
  email: 'email',
  'e-mail': 'email',
  'contact email': 'email',
  'contact e-mail': 'email',
  notes: 'notes',
  note: 'notes',
  comments: 'notes',
  details: 'notes',
};

// "Company: Initech", "- **Website** – initech.example", "Contact = Bill <bill@initech.example>".
const LABELLED = /^[\s*>•-]*\**\s*([A-Za-z][A-Za-z -]{1,20}?)\s*\**\s*[:=–—]\s*(.*)$/;
const EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const URL_OR_DOMAIN = /\b(?:https?:\/\/)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:\/[^\s)>]*)?/gi;
const SUBJECT_COMPANY =
  /^(?:(?:re|fwd?|aw|sv|tr)\s*:\s*)*(?:new\s+)?(?:registration|referral|lead|deal|prospect|opportunity)\s*(?:for)?\s*[:\-–—]\s*(.+)$/i;
const MAX_NOTES = 2000;

const oneLine = (s: string | undefined | null) => {
  const value = s?.replace(/\s+/g, ' ').trim();
  return value ? value : null;
};

/** "Bill Lumbergh <bill@initech.example>" → name and address; a bare address has no name. */
function splitContact(value: string): { name: string | null; email: string | null } {
  const email = value.match(EMAIL)?.[0]?.toLowerCase() ?? null;
  const name = oneLine(
    value
      .replace(EMAIL, '')
      .replace(/[<>()[\]"]/g, ' ')
      .replace(/\bmailto:/gi, ''),
  );
  return { name, email };
}

/** The registrable domain of an address (`mail.initech.com` → `initech.com`), else its host. */
function domainOfAddress(address: string): string {
  const host = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  return registrableDomain(host) ?? host;
}

/**
 * The prospect described in `text` (a trimmed reply: no quotes, no signature), sent by `sender`
 * (never the prospect: a partner's own address and domain are skipped). `subject` may name the
 * company ("New referral: Initech").
 */
export function extractProspect(text: string, sender: string, subject = ''): ExtractedProspect {
  const own = sender.toLowerCase();
  const ownDomain = domainOfAddress(own);
  const fields: ProspectFields = {
    companyName: null,
    website: null,
    contactName: null,
    contactEmail: null,
    notes: null,
  };
  const rest: string[] = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const match = LABELLED.exec(line);
    const label = match ? LABELS[match[1]!.toLowerCase().trim()] : undefined;
    const value = match?.[2]?.trim() ?? '';
    if (!label || !value) {
      rest.push(line);
      continue;
    }
    if (label === 'contactName') {
      const contact = splitContact(value);
      fields.contactName ??= contact.name;
      fields.contactEmail ??= contact.email;
    } else if (label === 'email') {
      fields.contactEmail ??= value.match(EMAIL)?.[0]?.toLowerCase() ?? null;
    } else if (label === 'notes') {
      fields.notes = [fields.notes, value].filter(Boolean).join('\n');
    } else {
      fields[label] ??= oneLine(value);
    }
  }
  const free = rest.join('\n');
  if (!fields.contactEmail) {
    const addresses = [...free.matchAll(EMAIL)].map((m) => m[0].toLowerCase());
    fields.contactEmail = addresses.find((a) => a !== own && domainOfAddress(a) !== ownDomain) ?? null;
  }
  if (!fields.website) {
    const withoutEmails = free.replace(EMAIL, ' ');
    const domains = [...withoutEmails.matchAll(URL_OR_DOMAIN)].map((m) => m[0]);
    fields.website =
      domains.find((d) => {
        const domain = registrableDomain(d.replace(/^https?:\/\//i, '').split('/')[0]!);
        return domain !== null && domain !== ownDomain;
      }) ??
      companyDomainOfEmail(fields.contactEmail) ??
      null;
  }
  fields.companyName ??= oneLine(SUBJECT_COMPANY.exec(subject.trim())?.[1]);
  if (!fields.notes) {
    // What is left once the recognised parts are gone, unless it is only a greeting.
    const leftover = free.trim();
    fields.notes = leftover.replace(/\s+/g, ' ').length > 3 ? leftover : null;
  }
  if (fields.notes) fields.notes = fields.notes.trim().slice(0, MAX_NOTES) || null;

  const missing: string[] = [];
  if (!fields.companyName) missing.push('Company');
  if (!fields.website && !fields.contactEmail) missing.push('Website or contact email');
  return { ...fields, missing };
}
