import { domainToASCII } from 'node:url';
import { parse } from 'tldts';

/**
 * The registrable domain ("eTLD+1") of a website, host name or email address, lower-case and in
 * ASCII (punycode), or null when there is none: IP addresses, `localhost`, single labels, unknown
 * top-level domains and garbage. Two registrations name the same prospect when these are equal, so
 * `https://www.Acme.co.uk/about`, `shop.acme.co.uk` and `bob@acme.co.uk` all give `acme.co.uk`.
 */
export function registrableDomain(input: string | null | undefined): string | null {
  const value = input?.trim();
  if (!value || value.length > 2048 || /\s/.test(value)) return null;
  // Private suffixes count (github.io, blogspot.com, …): `acme.github.io` and `other.github.io`
  // are two different prospects, not one.
  const parsed = parse(value, { allowPrivateDomains: true });
  if (parsed.isIp || !parsed.domain) return null;
  // A domain under a suffix nobody registers under (`foo.invalidtld`, `localhost`) is a typo or an
  // intranet name, never a prospect's website.
  if (!parsed.isIcann && !parsed.isPrivate) return null;
  const ascii = domainToASCII(parsed.domain.replace(/\.$/, '').toLowerCase());
  return ascii === '' ? null : ascii;
}

/**
 * Mailbox providers whose domain says nothing about the company: `bob@gmail.com` must not make
 * every Gmail user the same prospect.
 */
const FREE_MAIL_DOMAINS = new Set([
  'gmail.com',
  'googlemail.com',
  'yahoo.com',
  'yahoo.co.uk',
  'ymail.com',
  'outlook.com',
  'hotmail.com',
  'hotmail.co.uk',
  'live.com',
  'msn.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'aol.com',
  'proton.me',
  'protonmail.com',
  'gmx.com',
  'gmx.de',
  'gmx.net',
  'web.de',
  'mail.com',
  'yandex.ru',
  'mail.ru',
  'qq.com',
  '163.com',
  'zoho.com',
  'fastmail.com',
]);

/** The registrable domain of an email address, unless it is a free mailbox provider's. */
export function companyDomainOfEmail(email: string | null | undefined): string | null {
  const at = email?.lastIndexOf('@') ?? -1;
  if (!email || at < 1) return null;
  const domain = registrableDomain(email.slice(at + 1));
  return domain && !FREE_MAIL_DOMAINS.has(domain) ? domain : null;
}
