import type { Connection } from 'jsforce';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalSalesforce, startLocalSalesforce } from './local-salesforce.ts';
import { connectWithTokens } from './local-salesforce-client.ts';

let sf: LocalSalesforce;
let conn: Connection;
beforeEach(async () => {
  sf = await startLocalSalesforce({ dailyApiLimit: 50 });
  conn = connectWithTokens(sf, { callOptions: { client: 'partnerloop' } });
});
afterEach(async () => {
  await sf.close();
});

const get = (path: string, token = conn.accessToken) =>
  fetch(`${sf.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('local Salesforce API allowance, errors and injected faults', () => {
  it('counts every REST call and reports it in Sforce-Limit-Info and the limits resource', async () => {
    const first = await get('/services/data/v62.0/sobjects');
    expect(first.headers.get('sforce-limit-info')).toBe('api-usage=1/50');
    const second = await get('/services/data/v62.0/query?q=SELECT+Id+FROM+Account');
    expect(second.headers.get('sforce-limit-info')).toBe('api-usage=2/50');
    const limits = await conn.limits();
    expect(limits.DailyApiRequests).toEqual({ Max: 50, Remaining: 47 });
    const failed = await get('/services/data/v62.0/query?q=SELECT+Nope+FROM+Account');
    expect(failed.status).toBe(400);
    expect(failed.headers.get('sforce-limit-info')).toBe('api-usage=4/50');
    // The version list needs no session and does not count.
    const versions = await fetch(`${sf.url}/services/data/`);
    expect(await versions.json()).toEqual(
      expect.arrayContaining([{ label: 'v62.0', url: '/services/data/v62.0', version: '62.0' }]),
    );
  });

  it('answers REQUEST_LIMIT_EXCEEDED (403) once the daily allowance is spent', async () => {
    sf.setApiUsage(50);
    const res = await get('/services/data/v62.0/limits');
    expect(res.status).toBe(403);
    expect(res.headers.get('sforce-limit-info')).toBe('api-usage=50/50');
    expect(await res.json()).toEqual([
      { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
    await expect(conn.query('SELECT Id FROM Account')).rejects.toMatchObject({
      errorCode: 'REQUEST_LIMIT_EXCEEDED',
    });
    sf.setApiUsage(10, 100_000);
    await expect(conn.query('SELECT Id FROM Account')).resolves.toMatchObject({ totalSize: 0 });
  });

  it('answers INVALID_SESSION_ID without a valid token, and 404 for unknown resources', async () => {
    const res = await get('/services/data/v62.0/sobjects', 'bogus');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
    const unknown = await get('/services/data/v62.0/nothing/here');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual([
      { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
    ]);
  });

  it('failNext makes the next matching request fail once with the given answer', async () => {
    sf.failNext(
      { method: 'POST', path: /\/sobjects\/Account$/ },
      {
        status: 503,
        body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'Try later' }],
        headers: { 'retry-after': '1' },
      },
    );
    await expect(conn.query('SELECT Id FROM Account')).resolves.toMatchObject({ totalSize: 0 });
    await expect(conn.sobject('Account').create({ Name: 'A' })).rejects.toMatchObject({
      errorCode: 'SERVER_UNAVAILABLE',
    });
    await expect(conn.sobject('Account').create({ Name: 'A' })).resolves.toMatchObject({ success: true });
    expect(sf.records('Account')).toHaveLength(1);
    sf.failNext(
      { path: /limits/ },
      { status: 403, body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'x' }] },
    );
    const res = await get('/services/data/v62.0/limits');
    expect(res.status).toBe(403);
    expect(res.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/50$/);
  });

  it('records each request with its Sforce-Call-Options for the tests', async () => {
    await conn.sobject('Account').create({ Name: 'Tagged' });
    const last = sf.stats().requests.at(-1)!;
    expect(last).toEqual({
      method: 'POST',
      path: '/services/data/v62.0/sobjects/Account',
      callOptions: 'client=partnerloop',
    });
  });
});
