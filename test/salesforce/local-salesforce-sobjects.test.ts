import type { Connection } from 'jsforce';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalSalesforce, startLocalSalesforce } from './local-salesforce.ts';
import { connectWithTokens } from './local-salesforce-client.ts';

let sf: LocalSalesforce;
let conn: Connection;
beforeEach(async () => {
  sf = await startLocalSalesforce({
    customFields: { Opportunity: [{ name: 'Registration_Id__c', externalId: true, unique: true }] },
  });
  conn = connectWithTokens(sf);
});
afterEach(async () => {
  await sf.close();
});

const opportunity = (extra: Record<string, unknown> = {}) => ({
  Name: 'Acme expansion',
  StageName: 'Prospecting',
  CloseDate: '2026-12-31',
  Amount: 12000,
  ...extra,
});

describe('local Salesforce sObject resources through jsforce', () => {
  it('creates, retrieves, updates and deletes with Salesforce status codes and derived stage fields', async () => {
    const account = await conn.sobject('Account').create({ Name: 'Acme', Website: 'acme.example' });
    expect(account).toEqual({ id: expect.stringMatching(/^001[a-zA-Z0-9]{15}$/), success: true, errors: [] });
    const created = await conn.sobject('Opportunity').create(opportunity({ AccountId: account.id }));
    const id = created.id!;
    expect(id).toMatch(/^006/);
    const stored = await conn.sobject('Opportunity').retrieve(id);
    expect(stored).toMatchObject({
      attributes: { type: 'Opportunity', url: `/services/data/v62.0/sobjects/Opportunity/${id}` },
      Id: id,
      Amount: 12000,
      IsClosed: false,
      Probability: 10,
      OwnerId: sf.userId,
      Registration_Id__c: null,
    });
    expect(stored.SystemModstamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    expect(await conn.sobject('Opportunity').update({ Id: id, StageName: 'Closed Won' })).toEqual({
      id,
      success: true,
      errors: [],
    });
    expect(sf.records('Opportunity')[0]).toMatchObject({
      StageName: 'Closed Won',
      IsWon: true,
      IsClosed: true,
      Probability: 100,
    });
    // 15-character ids work too, as in Salesforce.
    expect((await conn.sobject('Opportunity').retrieve(id.slice(0, 15), { fields: ['Name'] })).Name).toBe(
      'Acme expansion',
    );
    await conn.sobject('Opportunity').destroy(id);
    await expect(conn.sobject('Opportunity').retrieve(id)).rejects.toMatchObject({
      errorCode: 'ENTITY_IS_DELETED',
    });
    await expect(conn.sobject('Opportunity').retrieve('006000000000000AAA')).rejects.toMatchObject({
      errorCode: 'NOT_FOUND',
    });
  });

  it('upserts by external id: 201 created, then 200 updated', async () => {
    const first = await conn
      .sobject('Opportunity')
      .upsert(opportunity({ Registration_Id__c: 'reg-1' }), 'Registration_Id__c');
    expect(first).toMatchObject({ success: true, created: true });
    const second = await conn
      .sobject('Opportunity')
      .upsert({ Registration_Id__c: 'reg-1', Amount: 15000 }, 'Registration_Id__c');
    expect(second).toMatchObject({ id: (first as { id: string }).id, success: true, created: false });
    expect(sf.records('Opportunity')).toHaveLength(1);
    expect(sf.records('Opportunity')[0]).toMatchObject({ Amount: 15000, Registration_Id__c: 'reg-1' });
    await expect(
      conn.sobject('Opportunity').upsert({ Name: 'x', Description: 'y' }, 'Name'),
    ).rejects.toMatchObject({
      errorCode: 'NOT_FOUND',
    });
  });

  it('answers the documented errors for bad writes and changes nothing', async () => {
    const sobject = conn.sobject('Opportunity');
    await expect(sobject.create({ Name: 'No stage' })).rejects.toMatchObject({
      errorCode: 'REQUIRED_FIELD_MISSING',
      data: { fields: ['StageName', 'CloseDate'] },
    });
    await expect(sobject.create(opportunity({ Partner__c: 'x' }))).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
      message: "No such column 'Partner__c' on sobject of type Opportunity",
    });
    await expect(sobject.create(opportunity({ StageName: 'Won-ish' }))).rejects.toMatchObject({
      errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    });
    await expect(sobject.create(opportunity({ Amount: 'lots' }))).rejects.toMatchObject({
      errorCode: 'JSON_PARSER_ERROR',
    });
    await expect(sobject.create(opportunity({ IsWon: true }))).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
    });
    await expect(sobject.create(opportunity({ AccountId: '001000000000000AAA' }))).rejects.toMatchObject({
      errorCode: 'INVALID_CROSS_REFERENCE_KEY',
    });
    await sobject.create(opportunity({ Registration_Id__c: 'dup' }));
    await expect(sobject.create(opportunity({ Registration_Id__c: 'dup' }))).rejects.toMatchObject({
      errorCode: 'DUPLICATE_VALUE',
    });
    expect(sf.records('Opportunity')).toHaveLength(1);
    await expect(conn.sobject('Nope__c').create({ Name: 'x' })).rejects.toMatchObject({
      errorCode: 'NOT_FOUND',
    });
  });

  it('describes objects with their custom fields only once they exist', async () => {
    const before = await conn.sobject('Opportunity').describe();
    expect(before.fields.map((f) => f.name)).not.toContain('Partner_Name__c');
    const stage = before.fields.find((f) => f.name === 'StageName')!;
    expect(stage.picklistValues!.map((p) => p.value)).toContain('Closed Won');
    expect(before.fields.find((f) => f.name === 'Registration_Id__c')).toMatchObject({
      externalId: true,
      unique: true,
      custom: true,
    });
    sf.addCustomField('Opportunity', { name: 'Partner_Name__c', type: 'string', length: 255 });
    const after = await conn.request<{ fields: { name: string; type: string }[] }>(
      '/services/data/v62.0/sobjects/Opportunity/describe',
    );
    expect(after.fields.find((f) => f.name === 'Partner_Name__c')).toMatchObject({ type: 'string' });
    await conn.sobject('Opportunity').create(opportunity({ Partner_Name__c: 'Agency' }));
    expect(sf.records('Opportunity')[0]!.Partner_Name__c).toBe('Agency');
    const global = await conn.describeGlobal();
    expect(global.sobjects.map((s) => s.name)).toEqual(
      expect.arrayContaining(['Opportunity', 'Account', 'Contact', 'Task']),
    );
  });

  it('seeds the OpportunityStage rows with IsClosed and IsWon', async () => {
    const { records } = await conn.query<Record<string, unknown>>(
      'SELECT MasterLabel, ApiName, IsActive, IsClosed, IsWon, SortOrder, DefaultProbability FROM OpportunityStage ORDER BY SortOrder',
    );
    expect(records.map((r) => r.MasterLabel)).toEqual([
      'Prospecting',
      'Qualification',
      'Needs Analysis',
      'Proposal/Price Quote',
      'Negotiation/Review',
      'Closed Won',
      'Closed Lost',
    ]);
    expect(records[5]).toMatchObject({ IsClosed: true, IsWon: true, DefaultProbability: 100 });
    expect(records[6]).toMatchObject({ IsClosed: true, IsWon: false });
    await expect(conn.sobject('OpportunityStage').create({ MasterLabel: 'x' })).rejects.toMatchObject({
      errorCode: 'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY',
    });
  });
});

describe('local Salesforce /local routes (a sales rep by hand, not Salesforce)', () => {
  it('creates and edits records as the sales user, with Salesforce validation', async () => {
    const created = await fetch(`${sf.url}/local/sobjects/Opportunity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(opportunity()),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const bad = await fetch(`${sf.url}/local/sobjects/Opportunity/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ StageName: 'Nope' }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()) as unknown[]).toMatchObject([
      { errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST' },
    ]);
    const won = await fetch(`${sf.url}/local/sobjects/Opportunity/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ StageName: 'Closed Won' }),
    });
    expect(won.status).toBe(204);
    expect(sf.records('Opportunity')[0]).toMatchObject({
      StageName: 'Closed Won',
      LastModifiedById: sf.state.salesUserId,
    });
    expect(sf.changeEvents().map((e) => e.data.payload.ChangeEventHeader.changeType)).toEqual([
      'CREATE',
      'UPDATE',
    ]);
  });
});
