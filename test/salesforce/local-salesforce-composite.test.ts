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

interface CompositeAnswer {
  compositeResponse: {
    body: any;
    httpHeaders: Record<string, string>;
    httpStatusCode: number;
    referenceId: string;
  }[];
}

const composite = (body: object) => conn.requestPost<CompositeAnswer>('/services/data/v62.0/composite', body);

const registrationRequests = (stage: string) => [
  {
    method: 'POST',
    url: '/services/data/v62.0/sobjects/Account',
    referenceId: 'account',
    body: { Name: 'Acme' },
  },
  {
    method: 'POST',
    url: '/services/data/v62.0/sobjects/Contact',
    referenceId: 'contact',
    body: { LastName: 'Doe', Email: 'jo@acme.example', AccountId: '@{account.id}' },
  },
  {
    method: 'POST',
    url: '/services/data/v62.0/sobjects/Opportunity',
    referenceId: 'opportunity',
    body: { Name: 'Acme deal', StageName: stage, CloseDate: '2026-12-31', AccountId: '@{account.id}' },
  },
  {
    method: 'GET',
    url: '/services/data/v62.0/sobjects/Opportunity/@{opportunity.id}?fields=Name,AccountId',
    referenceId: 'read',
  },
];

describe('local Salesforce composite and sObject collections', () => {
  it('runs subrequests in order, resolving @{ref.path} references, and counts as one API call', async () => {
    const before = sf.state.apiUsed;
    const answer = await composite({
      allOrNone: true,
      compositeRequest: registrationRequests('Prospecting'),
    });
    expect(sf.state.apiUsed - before).toBe(1);
    const [account, contact, opportunity, read] = answer.compositeResponse;
    expect(account).toMatchObject({
      httpStatusCode: 201,
      referenceId: 'account',
      body: { success: true },
      httpHeaders: { Location: `/services/data/v62.0/sobjects/Account/${account!.body.id}` },
    });
    expect(contact!.httpStatusCode).toBe(201);
    expect(read).toMatchObject({
      httpStatusCode: 200,
      body: { Name: 'Acme deal', AccountId: account!.body.id },
    });
    expect(sf.records('Contact')[0]).toMatchObject({ AccountId: account!.body.id, Name: 'Doe' });
    expect(opportunity!.body.id).toMatch(/^006/);
    const query = await composite({
      compositeRequest: [
        {
          method: 'GET',
          url: `/services/data/v62.0/query?q=${encodeURIComponent('SELECT Id FROM Account')}`,
          referenceId: 'q',
        },
        {
          method: 'PATCH',
          url: '/services/data/v62.0/sobjects/Account/@{q.records[0].Id}',
          referenceId: 'u',
          body: { Phone: '1' },
        },
      ],
    });
    expect(query.compositeResponse[1]).toMatchObject({ httpStatusCode: 204, body: null });
    expect(sf.records('Account')[0]!.Phone).toBe('1');
  });

  it('rolls everything back under allOrNone when one subrequest fails', async () => {
    const answer = await composite({
      allOrNone: true,
      compositeRequest: registrationRequests('Not a stage'),
    });
    const codes = answer.compositeResponse.map((r) => [r.httpStatusCode, r.body[0].errorCode]);
    expect(codes).toEqual([
      [400, 'PROCESSING_HALTED'],
      [400, 'PROCESSING_HALTED'],
      [400, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST'],
      [400, 'PROCESSING_HALTED'],
    ]);
    expect(sf.records('Account')).toEqual([]);
    expect(sf.records('Contact')).toEqual([]);
  });

  it('keeps what succeeded without allOrNone and halts only the dependants of a failure', async () => {
    const answer = await composite({ compositeRequest: registrationRequests('Not a stage') });
    expect(answer.compositeResponse.map((r) => r.httpStatusCode)).toEqual([201, 201, 400, 400]);
    expect(answer.compositeResponse[3]!.body[0]).toMatchObject({
      errorCode: 'PROCESSING_HALTED',
      message: expect.stringContaining('opportunity.id'),
    });
    expect(sf.records('Account')).toHaveLength(1);
  });

  it('refuses more than 25 subrequests', async () => {
    const many = Array.from({ length: 26 }, (_, i) => ({
      method: 'GET',
      url: '/services/data/v62.0/limits',
      referenceId: `r${i}`,
    }));
    await expect(composite({ compositeRequest: many })).rejects.toMatchObject({
      errorCode: 'INVALID_REQUEST',
    });
  });

  it('creates, updates, upserts, retrieves and deletes collections with per-record results', async () => {
    const accounts = conn.sobject('Account');
    const created = await accounts.create([{ Name: 'One' }, { Name: 'Two' }, { Website: 'no-name.example' }]);
    expect(created.map((r) => r.success)).toEqual([true, true, false]);
    expect(created[2]).toMatchObject({
      errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', fields: ['Name'] }],
    });
    const ids = created.filter((r) => r.success).map((r) => r.id!);
    const updated = await accounts.update(ids.map((Id) => ({ Id, Phone: '555' })));
    expect(updated.every((r) => r.success)).toBe(true);
    const fetched = await accounts.retrieve(ids, { fields: ['Name', 'Phone'] });
    expect(fetched.map((r) => [r?.Name, r?.Phone])).toEqual([
      ['One', '555'],
      ['Two', '555'],
    ]);
    const upserted = await conn.sobject('Opportunity').upsert(
      [
        { Registration_Id__c: 'r1', Name: 'A', StageName: 'Prospecting', CloseDate: '2026-06-01' },
        { Registration_Id__c: 'r2', Name: 'B', StageName: 'Prospecting', CloseDate: '2026-06-01' },
      ],
      'Registration_Id__c',
    );
    expect(upserted.map((r) => (r as { created?: boolean }).created)).toEqual([true, true]);
    const again = await conn
      .sobject('Opportunity')
      .upsert([{ Registration_Id__c: 'r1', Amount: 9 }], 'Registration_Id__c');
    expect(again[0]).toMatchObject({ success: true, created: false });
    const deleted = await accounts.destroy(ids);
    expect(deleted.every((r) => r.success)).toBe(true);
    expect((await conn.query('SELECT Id FROM Account')).totalSize).toBe(0);
  });

  it('rolls a collection back under allOrNone and marks the others ALL_OR_NONE_OPERATION_ROLLED_BACK', async () => {
    const results = await conn
      .sobject('Account')
      .create([{ Name: 'One' }, { Website: 'x' }, { Name: 'Three' }], {
        allOrNone: true,
      });
    expect(
      results.map((r) => r.errors[0] && (r.errors[0] as unknown as { statusCode: string }).statusCode),
    ).toEqual([
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'REQUIRED_FIELD_MISSING',
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    ]);
    expect(sf.records('Account')).toEqual([]);
  });
});
