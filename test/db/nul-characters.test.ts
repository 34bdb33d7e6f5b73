import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { nulCharacterAt, withoutNul } from '../../src/db/nul-characters.ts';
import type { NormalizedDealEvent } from '../../src/deals/deal-event.ts';
import { recordDealEvent } from '../../src/deals/deal-events.ts';
import { recordDealEvents } from '../../src/deals/record-deal-events.ts';
import { parseInbound } from '../../src/messaging/inbound-parse.ts';
import { makeEngineWorld } from '../commissions/engine-fixture.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';

// Another system's text (a CRM's deal, an email) may hold the NUL character, which PostgreSQL's text
// and jsonb cannot store: it is kept, the NUL as U+FFFD, rather than failing its write forever.

describe('withoutNul and nulCharacterAt', () => {
  it('finds the first NUL by path, in strings and keys, through arrays and plain objects only', () => {
    expect(nulCharacterAt({ a: [1, null, { b: ['ok', 'n\u0000'] }] }, 'body')).toBe('body.a[2].b[1]');
    expect(nulCharacterAt({ 'k\u0000': 1 }, 'body')).toBe('body.k\\u0000');
    expect(nulCharacterAt(Buffer.from('a\u0000b'), 'body')).toBeUndefined();
    expect(nulCharacterAt({ a: 'fine', b: 2n, c: new Date(0) }, 'body')).toBeUndefined();
  });

  it('returns the value itself when it holds no NUL, else a copy with each NUL as U+FFFD', () => {
    const clean = { name: 'Acme', amount: 5n, at: new Date(0), tags: ['a'] };
    expect(withoutNul(clean)).toBe(clean);
    const dirty = {
      name: 'Ac\u0000me',
      amount: 5n,
      at: new Date(0),
      tags: ['\u0000'],
      raw: Buffer.from('\u0000'),
    };
    const copy = withoutNul(dirty);
    expect(copy).toEqual({
      name: 'Ac\ufffdme',
      amount: 5n,
      at: new Date(0),
      tags: ['\ufffd'],
      raw: dirty.raw,
    });
    expect(dirty.name).toBe('Ac\u0000me');
    expect(withoutNul({ 'k\u0000': 1 })).toEqual({ 'k\ufffd': 1 });
    expect(withoutNul(null)).toBeNull();
  });

  it("keeps an email's subject and text, each NUL as U+FFFD", async () => {
    const raw = Buffer.from(
      'From: Ann <ann@agency.example>\r\nTo: reply@partnerloop.example\r\nSubject: Re: Acme\u0000\r\n' +
        'Message-ID: <nul-1@agency.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
        'Signed\u0000 today.\r\n',
      'utf8',
    );
    const parsed = await parseInbound(raw);
    expect(parsed.subject).toBe('Re: Acme\ufffd');
    expect(parsed.text?.trim()).toBe('Signed\ufffd today.');
  });
});

describe(`recordDealEvent(s): a CRM's deal name holding a NUL character (${usingPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.handle.db;
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('records the deal, one event at a time and in a batch, with the NUL as U+FFFD', async () => {
    const w = await makeEngineWorld(db);
    await w.deal([], 'known-deal');
    const event = (crmDealId: string, id: string): NormalizedDealEvent => ({
      tenantId: w.tenant.id,
      source: 'api',
      sourceEventId: id,
      crmDealId,
      occurredAt: new Date('2026-03-02T10:00:00Z'),
      type: 'deal.updated',
      changes: { name: `Acme\u0000 ${id}`, properties: { note: 'a\u0000b' } },
    });
    const one = await db
      .transaction()
      .execute((tx) => recordDealEvent(tx, w.services, event('new-deal', 'e1')));
    expect(one.outcome).toBe('applied');
    const batch = await db
      .transaction()
      .execute((tx) =>
        recordDealEvents(tx, w.services, [event('known-deal', 'e2'), event('other-deal', 'e3')]),
      );
    expect(batch.map((r) => r.outcome)).toEqual(['applied', 'applied']);
    const deals = await db
      .selectFrom('deals')
      .select(['crm_deal_id', 'name', 'properties'])
      .where('tenant_id', '=', w.tenant.id)
      .orderBy('crm_deal_id')
      .execute();
    expect(deals).toEqual([
      { crm_deal_id: 'known-deal', name: 'Acme\ufffd e2', properties: { note: 'a\ufffdb' } },
      { crm_deal_id: 'new-deal', name: 'Acme\ufffd e1', properties: { note: 'a\ufffdb' } },
      { crm_deal_id: 'other-deal', name: 'Acme\ufffd e3', properties: { note: 'a\ufffdb' } },
    ]);
  });
});
