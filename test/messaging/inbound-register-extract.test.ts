import { describe, expect, it } from 'vitest';
import {
  extractProspect,
  referralCodeFromAddress,
  unsubscribeValueFromAddress,
} from '../../src/messaging/inbound-register.ts';

const SENDER = 'jane@partner.example';

describe('reading a prospect from a partner email', () => {
  it('takes labelled lines: company, website, contact with address, notes', () => {
    const text = [
      'Hi team,',
      '',
      'Company: Initech',
      'Website: https://www.initech.com/about',
      'Contact: Bill Lumbergh <bill@initech.com>',
      'Notes: 200 seats, decision in Q1.',
    ].join('\n');
    expect(extractProspect(text, SENDER)).toEqual({
      companyName: 'Initech',
      website: 'https://www.initech.com/about',
      contactName: 'Bill Lumbergh',
      contactEmail: 'bill@initech.com',
      notes: '200 seats, decision in Q1.',
      missing: [],
    });
  });

  it('accepts other spellings of the labels, bullets and bold, and a separate email line', () => {
    const text = [
      '- **Organisation**: Globex Corp',
      '* Domain – globex.net',
      'Name = Hank Scorpio',
      'E-mail: HANK@globex.net',
    ].join('\n');
    expect(extractProspect(text, SENDER)).toMatchObject({
      companyName: 'Globex Corp',
      website: 'globex.net',
      contactName: 'Hank Scorpio',
      contactEmail: 'hank@globex.net',
      missing: [],
    });
  });

  it('without labels, takes the first address and domain that are not the sender’s own', () => {
    const text =
      'Copying my colleague anna@partner.example. Please register Umbrella, talk to alice@umbrella-corp.com';
    const found = extractProspect(text, SENDER, 'New referral: Umbrella Corp');
    expect(found.contactEmail).toBe('alice@umbrella-corp.com');
    // The website comes from the prospect's address, never from the partner's own domain.
    expect(found.website).toBe('umbrella-corp.com');
    expect(found.companyName).toBe('Umbrella Corp');
    expect(found.notes).toContain('Please register Umbrella');
    expect(found.missing).toEqual([]);
  });

  it('a free-mail address is a contact but not a website', () => {
    const found = extractProspect('Company: Tiny Shop\nContact: Bob <bob.shop@gmail.com>', SENDER);
    expect(found).toMatchObject({ contactEmail: 'bob.shop@gmail.com', website: null, missing: [] });
  });

  it('says what is missing when the company or any way to identify the prospect is absent', () => {
    expect(extractProspect('Hi, I have a great lead, call me!', SENDER).missing).toEqual([
      'Company',
      'Website or contact email',
    ]);
    expect(extractProspect('Company: Hooli', SENDER).missing).toEqual(['Website or contact email']);
    expect(extractProspect('see hooli.io', SENDER).missing).toEqual(['Company']);
  });

  it('reads the company from a subject like "Registration: X", past Re:/Fwd: prefixes', () => {
    expect(extractProspect('hooli.io', SENDER, 'Fwd: Registration - Hooli').companyName).toBe('Hooli');
    expect(extractProspect('hooli.io', SENDER, 'Lunch on Friday?').companyName).toBeNull();
  });
});

describe('our special addresses', () => {
  const domain = 'reply.app.example';
  it('finds the referral code of register+<code>@, with or without the plus, any case', () => {
    expect(referralCodeFromAddress('register+ABCD2345@reply.app.example', domain)).toBe('abcd2345');
    expect(referralCodeFromAddress('"Partners" <Register+abcd-2345@Reply.App.Example>', domain)).toBe(
      'abcd-2345',
    );
    expect(referralCodeFromAddress('registerABCD2345@reply.app.example', domain)).toBe('abcd2345');
    expect(referralCodeFromAddress('register+ABCD2345@elsewhere.example', domain)).toBeNull();
    expect(referralCodeFromAddress('reply+abc@reply.app.example', domain)).toBeNull();
  });

  it('finds the unsubscribe value of the List-Unsubscribe mailto', () => {
    expect(unsubscribeValueFromAddress(`unsubscribe+${'a'.repeat(26)}-deals@${domain}`, domain)).toBe(
      `${'a'.repeat(26)}-deals`,
    );
    expect(unsubscribeValueFromAddress(`reply+${'a'.repeat(26)}@${domain}`, domain)).toBeNull();
  });
});
