import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateOrLinkDealInput } from '../../../src/crm/crm-connector.ts';
import { noteText } from '../../../src/crm/salesforce/salesforce-notes.ts';
import { waitFor } from '../../helpers/wait-for.ts';
import { act, setupProgram, submit } from '../../registrations/registration-setup.ts';
import type { LocalSalesforce } from '../../salesforce/local-salesforce.ts';
import { openSalesforceWorld, type SalesforceWorld } from './salesforce-world.ts';

let world: SalesforceWorld;

beforeAll(async () => {
  world = await openSalesforceWorld();
  await world.runtime.queue.startWorkers(world.runtime.registry.queues());
  world.runtime.relay.start();
});
afterAll(async () => {
  await world?.close();
});

const input = (registrationId: string, company: string): CreateOrLinkDealInput => ({
  registrationId,
  dealName: `${company} (via Acme Referrals)`,
  amount: { minor: 1_250_050n, currency: 'EUR' },
  closeDate: '2027-03-31',
  pipelineId: null,
  stageId: null,
  company: { name: company, domain: `${company.toLowerCase()}.co.uk` },
  contact: { email: `hank@${company.toLowerCase()}.co.uk`, name: 'Hank Scorpio' },
  attribution: {
    partnerId: 'p-1',
    partnerName: 'Acme Referrals',
    registrationId,
    registrationStatus: 'approved',
    protectedUntil: new Date('2027-02-01T00:00:00.000Z'),
  },
});

const writesOf = (org: LocalSalesforce) =>
  org.stats().requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/services/data/'));

describe('writes out to Salesforce', () => {
  it('makes Account, Contact and Opportunity with our fields in two composite calls, every write tagged', async () => {
    const t = await world.connectTenant(await world.startOrg());
    const before = t.org.stats().requests.length;
    const linked = await t.connector.createOrLinkDeal(input('reg-new-1', 'Globex'));
    expect(linked.ok, JSON.stringify(linked)).toBe(true);
    if (!linked.ok) return;
    expect(linked.value.created).toEqual({ deal: true, company: true, contact: true });
    const opportunity = t.org.records('Opportunity').find((o) => o.Id === linked.value.dealId)!;
    expect(opportunity).toMatchObject({
      Name: 'Globex (via Acme Referrals)',
      StageName: 'Prospecting',
      CloseDate: '2027-03-31',
      Amount: 12500.5,
      AccountId: linked.value.companyId,
      Partner__c: 'Acme Referrals',
      Partner_Id__c: 'p-1',
      Registration_Id__c: 'reg-new-1',
      Registration_Status__c: 'approved',
    });
    expect(new Date(opportunity.Protected_Until__c as string).toISOString()).toBe('2027-02-01T00:00:00.000Z');
    expect(t.org.records('Account').find((a) => a.Id === linked.value.companyId)).toMatchObject({
      Name: 'Globex',
      Website: 'globex.co.uk',
    });
    expect(t.org.records('Contact').find((c) => c.Id === linked.value.contactId)).toMatchObject({
      FirstName: 'Hank',
      LastName: 'Scorpio',
      Email: 'hank@globex.co.uk',
      AccountId: linked.value.companyId,
    });
    const calls = t.org.stats().requests.slice(before);
    const composites = calls.filter((r) => r.path.endsWith('/composite'));
    expect(composites).toHaveLength(2);
    expect(writesOf(t.org).every((r) => r.callOptions === 'client=partnerloop')).toBe(true);
  });

  it('a retry finds the first run: by its records, and after losing them by the upsert key, domain and email', async () => {
    const t = await world.connectTenant(await world.startOrg());
    const first = await t.connector.createOrLinkDeal(input('reg-retry', 'Initech'));
    expect(first.ok).toBe(true);
    const counts = () => ['Account', 'Contact', 'Opportunity'].map((o) => t.org.records(o).length);
    const made = counts();

    const again = await t.connector.createOrLinkDeal(input('reg-retry', 'Initech'));
    expect(again.ok && again.value.dealId).toBe(first.ok && first.value.dealId);
    expect(again.ok && again.value.created).toEqual({ deal: false, company: false, contact: false });
    expect(counts()).toEqual(made);

    // A crash between Salesforce's answer and our record of it: nothing of the first run remembered.
    await world.runtime.db.deleteFrom('crm_write_records').where('tenant_id', '=', t.tenant.id).execute();
    const recovered = await t.connector.createOrLinkDeal(input('reg-retry', 'Initech'));
    expect(recovered.ok, JSON.stringify(recovered)).toBe(true);
    expect(recovered.ok && recovered.value).toMatchObject({
      dealId: first.ok && first.value.dealId,
      companyId: first.ok && first.value.companyId,
      contactId: first.ok && first.value.contactId,
      created: { deal: false, company: false, contact: false },
    });
    expect(counts()).toEqual(made);
  });

  it('links to the Account on the same registrable domain and the Contact with the same email', async () => {
    const t = await world.connectTenant(await world.startOrg());
    const accountId = t.org.userInsert('Account', {
      Name: 'Umbrella Corp',
      Website: 'https://www.umbrella.co.uk/about',
    });
    // A look-alike the LIKE search also finds: another registrable domain, never linked.
    t.org.userInsert('Account', { Name: 'Not Umbrella', Website: 'https://umbrella.co.uk.example.net' });
    const contactId = t.org.userInsert('Contact', {
      LastName: 'Wesker',
      Email: 'hank@umbrella.co.uk',
      AccountId: accountId,
    });
    const linked = await t.connector.createOrLinkDeal(input('reg-link', 'Umbrella'));
    expect(linked.ok, JSON.stringify(linked)).toBe(true);
    expect(linked.ok && linked.value).toMatchObject({
      companyId: accountId,
      contactId,
      created: { deal: true, company: false, contact: false },
    });
    expect(t.org.records('Account')).toHaveLength(2);
  });

  it('a value with quotes, backslashes and wildcards is matched literally (no SOQL injection)', async () => {
    const t = await world.connectTenant(await world.startOrg());
    t.org.userInsert('Contact', { LastName: 'Other', Email: 'x@evil.example' });
    const hostile = await t.connector.findProspect(
      "evil.example' OR Name LIKE '%",
      "x@evil.example' OR Email != '",
    );
    expect(hostile.ok, JSON.stringify(hostile)).toBe(true);
    expect(hostile.ok && hostile.value.contacts).toEqual([]);
    const wildcard = await t.connector.findProspect('e_il.example', null);
    expect(wildcard.ok && wildcard.value.companies).toEqual([]);
  });

  it('writes a note on the opportunity once per key, as a completed Task in its activity timeline', async () => {
    const t = await world.connectTenant(await world.startOrg());
    const linked = await t.connector.createOrLinkDeal(input('reg-note', 'Hooli'));
    if (!linked.ok) throw new Error(JSON.stringify(linked.error));
    const note = {
      dealId: linked.value.dealId,
      bodyHtml: '<p><strong>Acme &amp; Co</strong> replied by email:</p><p>Line one<br>Line &lt;two&gt;</p>',
      at: new Date('2026-12-07T10:00:00.000Z'),
    };
    const first = await t.connector.addDealNote(note, 'note:test:1');
    const second = await t.connector.addDealNote(note, 'note:test:1');
    expect(first.ok && second.ok && first.value.noteId === second.value.noteId).toBe(true);
    const tasks = t.org.records('Task').filter((task) => task.WhatId === linked.value.dealId);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      Status: 'Completed',
      Subject: 'Acme & Co replied by email:',
      Description: 'Acme & Co replied by email:\n\nLine one\nLine <two>',
      ActivityDate: '2026-12-07',
    });
    expect(noteText('<p>a</p><p>b</p>')).toBe('a\n\nb');
  });

  it('updates our fields on a linked opportunity, and reports fields the org lacks instead of failing obscurely', async () => {
    const t = await world.connectTenant(await world.startOrg());
    const linked = await t.connector.createOrLinkDeal(input('reg-update', 'Vandelay'));
    if (!linked.ok) throw new Error(JSON.stringify(linked.error));
    const updated = await t.connector.updateDealAttribution(linked.value.dealId, {
      registrationStatus: 'won',
      protectedUntil: null,
    });
    expect(updated.ok, JSON.stringify(updated)).toBe(true);
    expect(t.org.records('Opportunity').find((o) => o.Id === linked.value.dealId)).toMatchObject({
      Registration_Status__c: 'won',
      Protected_Until__c: null,
      Partner__c: 'Acme Referrals',
    });

    const bare = await world.connectTenant(await world.startOrg({ withOurFields: false }));
    const refused = await bare.connector.createOrLinkDeal(input('reg-bare', 'Kramerica'));
    expect(refused).toMatchObject({ ok: false, error: { kind: 'invalid', code: 'FIELDS_MISSING' } });
    expect(!refused.ok && refused.error.message).toContain('Registration_Id__c');
    expect(bare.org.records('Account')).toHaveLength(0);
  });

  it('an approved registration goes out through the outbox job: opportunity, mirror row and approval note', async () => {
    const org = await world.startOrg();
    const setup = await setupProgram(world.runtime.db, {
      tenant: { crmKind: 'salesforce', crmAccountId: org.orgId },
      program: { protectionDays: 60, currency: 'EUR' },
    });
    await world.connect(setup.t.tenant.id, org);
    const partner = await setup.partner({ name: 'Acme Referrals' });
    const submitted = await submit(world.app, setup, partner.id, {
      companyName: 'Globex',
      website: 'https://www.globex.com',
      contactName: 'Hank Scorpio',
      contactEmail: 'hank@globex.com',
      estimatedValue: 1_250_050,
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { id } = submitted.json() as { id: string };
    const approved = await act(world.app, setup, id, 'approve');
    expect(approved.statusCode, approved.body).toBe(200);

    const row = await waitFor('the opportunity id on the registration', async () => {
      const r = await world.runtime.db
        .selectFrom('registrations')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return r.crm_deal_id ? r : undefined;
    });
    expect(org.records('Opportunity').find((o) => o.Id === row.crm_deal_id)).toMatchObject({
      Registration_Id__c: id,
      Partner_Id__c: partner.id,
      Registration_Status__c: 'approved',
      Amount: 12500.5,
    });
    const mirrored = await world.runtime.db
      .selectFrom('deals')
      .selectAll()
      .where('tenant_id', '=', setup.t.tenant.id)
      .where('crm_deal_id', '=', row.crm_deal_id!)
      .executeTakeFirstOrThrow();
    expect(mirrored).toMatchObject({ source: 'salesforce', registration_id: id });
    const task = await waitFor('the approval note', () =>
      org.records('Task').find((task) => task.WhatId === row.crm_deal_id),
    );
    expect(task.Description).toContain('Acme Referrals was approved');
    expect(org.records('Opportunity')).toHaveLength(1);
  });
});
