import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPLY_MARKER } from '../../src/messaging/email-templates.ts';
import { analyzeInbound } from '../../src/messaging/inbound-analyze.ts';
import { authVerdict } from '../../src/messaging/inbound-auth-results.ts';
import { trimReply } from '../../src/messaging/inbound-trim.ts';
import { ROOT, runCli } from '../helpers/cli.ts';

const DIR = path.join(ROOT, 'test/fixtures/email');
const DOMAIN = 'reply.app.partnerloop.test';
const TOKEN = 'k7d2mqx4v5n3p6r2s4t7u2w3y4';

/**
 * Replies as each mail client formats them (written for this suite, modelled on the clients' real
 * output): the expected trimmed text of each is in `<name>.reply.txt` next to it.
 */
const FIXTURES: {
  name: string;
  client: string;
  via: 'marker' | 'html' | 'text';
  token: 'address' | 'message-id';
}[] = [
  { name: 'gmail-web', client: 'Gmail web, text + HTML (gmail_quote)', via: 'html', token: 'address' },
  { name: 'gmail-android-html-only', client: 'Gmail Android, HTML only', via: 'html', token: 'address' },
  { name: 'gmail-fr-text', client: 'Gmail, French "a écrit :"', via: 'marker', token: 'address' },
  { name: 'gmail-nl-text', client: 'Gmail, Dutch "schreef"', via: 'marker', token: 'address' },
  {
    name: 'gmail-de-quoted-printable',
    client: 'Gmail, German, quoted-printable',
    via: 'marker',
    token: 'address',
  },
  {
    name: 'outlook-desktop',
    client: 'Outlook desktop (Word HTML, From/Sent block)',
    via: 'html',
    token: 'address',
  },
  { name: 'outlook-web', client: 'Outlook on the web (divRplyFwdMsg)', via: 'html', token: 'address' },
  {
    name: 'outlook-de-html-only',
    client: 'Outlook, German, HTML only (Von/Gesendet)',
    via: 'html',
    token: 'address',
  },
  {
    name: 'outlook-android',
    client: 'Outlook for Android (mobile signature)',
    via: 'html',
    token: 'address',
  },
  { name: 'apple-mail', client: 'Apple Mail macOS (blockquote type=cite)', via: 'html', token: 'address' },
  { name: 'iphone-mail', client: 'iOS Mail (AppleMailSignature)', via: 'html', token: 'address' },
  { name: 'iphone-es-text', client: 'iOS Mail, Spanish, text only', via: 'marker', token: 'address' },
  { name: 'thunderbird', client: 'Thunderbird (moz-cite-prefix)', via: 'html', token: 'address' },
  { name: 'yahoo-html-only', client: 'Yahoo Mail, HTML only', via: 'html', token: 'address' },
  {
    name: 'protonmail',
    client: 'Proton Mail, top-posting with signature block',
    via: 'html',
    token: 'address',
  },
  {
    name: 'samsung-android',
    client: 'Samsung Email, "Original message" block',
    via: 'marker',
    token: 'address',
  },
  {
    name: 'marker-and-signature',
    client: 'unprefixed quote under our marker, "-- " signature',
    via: 'marker',
    token: 'address',
  },
  { name: 'inline-reply', client: 'inline answers between quotes', via: 'text', token: 'address' },
  { name: 'bottom-posting', client: 'bottom-posting under the quote', via: 'text', token: 'address' },
  {
    name: 'exchange-references-only',
    client: 'Exchange without plus addressing',
    via: 'text',
    token: 'message-id',
  },
];

const read = (name: string) => readFileSync(path.join(DIR, `${name}.eml`));

describe('quote trimming on the client fixture set', () => {
  it('lists every fixture with an expected text in the table', () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.reply.txt'))
      .map((f) => f.replace('.reply.txt', ''));
    expect(files.sort()).toEqual(FIXTURES.map((f) => f.name).sort());
  });

  for (const fixture of FIXTURES) {
    it(`${fixture.client}: keeps only the reply and keeps what it cut`, async () => {
      const expected = readFileSync(path.join(DIR, `${fixture.name}.reply.txt`), 'utf8').trimEnd();
      const analysis = await analyzeInbound(read(fixture.name), { replyDomain: DOMAIN });
      expect(analysis.malformed).toBeNull();
      expect(analysis.autoReply.value).toBe(false);
      expect(analysis.trim?.reply).toBe(expected);
      expect(analysis.trim?.via).toBe(fixture.via);
      expect(analysis.trim?.quoted).toMatch(/Globex|Registration approved|Registrierung|Acme Partners/);
      expect(analysis.tokens[0]).toEqual({ token: TOKEN, via: fixture.token });
    });
  }
});

describe('automatic replies in the fixture set', () => {
  it.each([
    ['oof-de-exchange', /Auto-Submitted: auto-replied/],
    ['oof-fr-subject', /Subject: Réponse automatique/],
  ])('%s is flagged as an auto-reply', async (name, why) => {
    const analysis = await analyzeInbound(read(name), { replyDomain: DOMAIN });
    expect(analysis.autoReply).toMatchObject({
      value: true,
      kind: 'auto_reply',
      why: expect.stringMatching(why),
    });
  });
});

describe('trimming edge cases', () => {
  it("cuts at the outbound templates' own marker, quoted or not", () => {
    for (const prefix of ['', '> ', '>> ']) {
      const text = `New contact: Priya.\n\n${prefix}${REPLY_MARKER}\n${prefix}Your registration was approved.`;
      expect(trimReply({ text, html: null })).toMatchObject({ reply: 'New contact: Priya.', via: 'marker' });
    }
  });

  it('a message that is all quote leaves an empty reply, and the quote is kept', () => {
    const result = trimReply({ text: 'On Mon, Acme <a@acme.example> wrote:\n> only a quote', html: null });
    expect(result.reply).toBe('');
    expect(result.quoted).toContain('only a quote');
  });

  it('pathological input finishes quickly', () => {
    const started = performance.now();
    // A 200 KB line of "On a wrote: " once took the text trimmer 80 s.
    for (const text of [
      `${'>'.repeat(50_000)}\n${'On a wrote: '.repeat(20_000)}\n${'x '.repeat(200_000)}`,
      'On a wrote: '.repeat(20_000),
      `${'On a\n'.repeat(20_000)}wrote:`,
      `${'On '.repeat(30_000)}\n${' wrote'.repeat(30_000)}`,
    ])
      trimReply({ text, html: null });
    trimReply({ text: null, html: `${'<div>'.repeat(20_000)}deep${'</div>'.repeat(20_000)}` });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('Authentication-Results', () => {
  const mine = 'mx.partnerloop.test';
  it('counts only headers stamped by our authserv-id', () => {
    expect(authVerdict([`${mine}; dmarc=fail (p=reject) header.from=partner.example`], mine).verdict).toBe(
      'fail',
    );
    expect(authVerdict([`evil.example; dmarc=fail`], mine).verdict).toBe('gray');
    expect(
      authVerdict([`${mine} 1; spf=pass smtp.mailfrom=partner.example; dkim=pass; dmarc=pass`], mine).verdict,
    ).toBe('pass');
    expect(authVerdict([`${mine}; dmarc=fail`], undefined).verdict).toBe('gray');
    expect(authVerdict([`${mine}; dkim=fail; spf=fail`], mine).verdict).toBe('fail');
  });
});

describe('partnerloop email parse', () => {
  it('prints what processing sees, as JSON', async () => {
    const result = await runCli(['email', 'parse', path.join(DIR, 'outlook-web.eml')], {
      INBOUND_EMAIL_DOMAIN: DOMAIN,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({
      from: 'jane@partner.example',
      token: TOKEN,
      autoReply: { value: false, why: null },
      reply: "Approved internally as well. Can you share the rep's contact?",
    });
    expect(printed.quoted).toContain('Your registration for Globex Corporation was approved.');
  });

  it('says why an out-of-office is automatic', async () => {
    const result = await runCli(['email', 'parse', path.join(DIR, 'oof-de-exchange.eml')], {
      INBOUND_EMAIL_DOMAIN: DOMAIN,
    });
    expect(JSON.parse(result.stdout).autoReply).toEqual({ value: true, why: 'Auto-Submitted: auto-replied' });
  });
});
