import { describe, expect, it } from 'vitest';
import { brandingOf } from '../../src/messaging/branding.ts';
import { formatMoney } from '../../src/messaging/email-format.ts';
import {
  compiledTemplate,
  REPLY_MARKER,
  renderEmail,
  TEMPLATE_NAMES,
  type TemplateName,
} from '../../src/messaging/email-templates.ts';
import { parseTemplate, renderTemplate } from '../../src/messaging/template-engine.ts';

const EVIL = '<script>alert("x")</script> & "Co"';

function dataFor(name: TemplateName) {
  return {
    brand: {
      name: 'Acme Cloud',
      color: '#aa3300',
      logoUrl: 'https://cdn.example.com/acme.png',
      senderName: 'Acme Partners',
    },
    recipient: { name: 'Ada' },
    partner: { name: 'Northwind' },
    unsubscribeUrl: 'https://partners.example.com/u/tok-deals',
    kindLabel: 'deal updates',
    preheader: `preheader of ${name}`,
    daysLeft: 7,
    registration: {
      company: EVIL,
      domain: 'evil.example',
      programName: 'Resellers',
      reference: 'AB12CD34',
      reason: EVIL,
      protectedUntil: '1 Dec 2026',
    },
    deal: {
      name: EVIL,
      stage: 'Contract sent',
      stageMeaning: 'Signed soon',
      nextStep: 'Signature',
      amount: 'USD 1,000.00',
    },
    commission: { amount: 'USD 100.00', holdDays: 30 },
    payout: { amount: 'USD 250.00', reference: 'PAY-1', method: 'bank transfer', paidOn: '2 Dec 2026' },
    digest: {
      count: 2,
      referrals: [
        { company: EVIL, status: 'approved', protectedUntil: '1 Dec 2026' },
        { company: 'Plain Ltd', status: 'submitted', protectedUntil: '' },
      ],
    },
    rep: { name: 'Sam Rep' },
    message: { body: `Line one\n${EVIL}` },
  };
}

describe('email templates', () => {
  it.each(TEMPLATE_NAMES)(
    '%s renders HTML and text with the branding, the marker and the unsubscribe link',
    async (name) => {
      const email = await renderEmail(name, dataFor(name));
      for (const part of [email.html, email.text, email.subject]) expect(part).not.toMatch(/\{\{|\}\}/);
      expect(email.subject.length).toBeGreaterThan(5);
      expect(email.subject).not.toMatch(/\n/);
      // Branding: colour, logo and name in the HTML, the name in the text.
      expect(email.html).toContain('#aa3300');
      expect(email.html).toContain('https://cdn.example.com/acme.png');
      expect(email.html).toContain('Acme Cloud');
      expect(email.text).toContain('Acme Cloud');
      for (const part of [email.html, email.text]) {
        expect(part).toContain(REPLY_MARKER);
        expect(part).toContain('https://partners.example.com/u/tok-deals');
        expect(part).toContain('Hello Ada,');
      }
      // The marker comes first, so everything a replier types above it is the reply.
      expect(email.text.indexOf(REPLY_MARKER)).toBe(0);
      // Data is escaped in HTML, left as typed in text.
      expect(email.html).not.toContain('<script>');
      if (email.text.includes(EVIL))
        expect(email.html).toContain(
          '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Co&quot;',
        );
      expect(email.html).toMatch(/^<!doctype html>/i);
    },
  );

  it('each text twin says what its HTML says (same data, not converted)', async () => {
    const digest = await renderEmail('weekly-digest', dataFor('weekly-digest'));
    expect(digest.text).toContain('- Plain Ltd: submitted\n');
    expect(digest.text).toContain(`- ${EVIL}: approved, protected until 1 Dec 2026`);
    expect(digest.html).toContain('Plain Ltd');
    const won = await renderEmail('deal-won', dataFor('deal-won'));
    expect(won.text).toContain('USD 100.00');
    expect(won.html).toContain('USD 100.00');
    const rep = await renderEmail('rep-message', dataFor('rep-message'));
    expect(rep.text).toContain(`Line one\n${EVIL}`);
  });

  it('shows the tenant name instead of a logo when there is none', async () => {
    const data = {
      ...dataFor('registration-approved'),
      brand: { name: 'No Logo Inc', color: '#123456', logoUrl: null },
    };
    const email = await renderEmail('registration-approved', data);
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('No Logo Inc</div>');
  });

  it('compiles MJML once per template and reuses it', async () => {
    const first = compiledTemplate('deal-won');
    expect(compiledTemplate('deal-won')).toBe(first);
    const compiled = await first;
    expect(compiled.html.nodes.length).toBeGreaterThan(10);
  });

  it('escapes values but not the markup our code passes with triple braces', () => {
    const template = parseTemplate(
      '<p>{{a}}</p>{{{b}}}{{#list}}<i>{{x}}</i>{{/list}}{{^list}}none{{/list}}',
      'html',
    );
    expect(renderTemplate(template, { a: '<b>', b: '<hr>', list: [{ x: '1&2' }, { x: '"3"' }] })).toBe(
      '<p>&lt;b&gt;</p><hr><i>1&amp;2</i><i>&quot;3&quot;</i>',
    );
    expect(renderTemplate(template, { a: 'x', list: [] })).toBe('<p>x</p>none');
    expect(() => parseTemplate('{{#a}}x', 'text')).toThrow(/not closed/);
    expect(() => parseTemplate('{{#a}}x{{/b}}', 'text')).toThrow(/unexpected/);
  });

  it('falls back to default branding for what a tenant has not set or set wrongly', () => {
    expect(brandingOf({ name: 'Acme', settings: {} })).toEqual({
      name: 'Acme',
      logoUrl: null,
      color: '#1d4ed8',
      senderName: 'Acme Partner Team',
    });
    expect(
      brandingOf({
        name: 'Acme',
        settings: { branding: { color: 'red;x', logoUrl: 'javascript:1', senderName: 'A\nB' } },
      }),
    ).toEqual({ name: 'Acme', logoUrl: null, color: '#1d4ed8', senderName: 'Acme Partner Team' });
  });

  it('formats money exactly in the currency minor unit', () => {
    expect(formatMoney('123456789', 'USD')).toBe('USD 1,234,567.89');
    expect(formatMoney(1500n, 'JPY')).toBe('JPY 1,500');
    expect(formatMoney('-1005', 'KWD')).toBe('-KWD 1.005');
    expect(formatMoney('90071992547409931234', 'EUR')).toBe('EUR 900,719,925,474,099,312.34');
  });
});
