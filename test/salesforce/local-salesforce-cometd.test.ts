import jsforce, { type Connection } from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type LocalSalesforce,
  type LocalSalesforceOptions,
  startLocalSalesforce,
} from './local-salesforce.ts';
import { type ChangeSubscriber, connectWithTokens, subscribeToChanges } from './local-salesforce-client.ts';

let sf: LocalSalesforce;
const subscribers: ChangeSubscriber[] = [];
afterEach(async () => {
  await Promise.all(subscribers.splice(0).map((s) => s.close()));
  await sf?.close();
});

async function start(options: LocalSalesforceOptions = {}) {
  sf = await startLocalSalesforce(options);
  return connectWithTokens(sf, { callOptions: { client: 'partnerloop' } });
}

async function subscribe(conn: Connection, options: { channel?: string; replayId?: number } = {}) {
  const subscriber = subscribeToChanges(conn, options);
  subscribers.push(subscriber);
  await subscriber.ready;
  return subscriber;
}

const newDeal = (name: string) => ({
  Name: name,
  StageName: 'Prospecting',
  CloseDate: '2026-09-30',
  Amount: 100,
});
const headers = (s: ChangeSubscriber) => s.messages.map((m) => m.payload.ChangeEventHeader);
const replayIds = (s: ChangeSubscriber) => s.messages.map((m) => m.event.replayId);

describe('local Salesforce CometD change events through jsforce streaming', () => {
  it('delivers CREATE, UPDATE with only the changed fields, DELETE and UNDELETE with their ChangeEventHeader', async () => {
    const conn = await start();
    const stream = await subscribe(conn);
    const id = sf.userInsert('Opportunity', newDeal('Alpha'));
    sf.userUpdate('Opportunity', id, { Amount: 250 });
    await conn.sobject('Opportunity').update({ Id: id, StageName: 'Closed Won' });
    sf.userDelete('Opportunity', id);
    sf.userUndelete('Opportunity', id);
    const [created, edited, won, deleted, undeleted] = await stream.waitFor(5);
    expect(created!.payload).toMatchObject({
      Name: 'Alpha',
      StageName: 'Prospecting',
      Amount: 100,
      CloseDate: '2026-09-30',
    });
    expect(created!.payload.ChangeEventHeader).toMatchObject({
      entityName: 'Opportunity',
      recordIds: [id],
      changeType: 'CREATE',
      changedFields: [],
      changeOrigin: '',
      sequenceNumber: 1,
      commitUser: sf.state.salesUserId,
    });
    expect(typeof created!.schema).toBe('string');
    expect(Object.keys(edited!.payload).sort()).toEqual(['Amount', 'ChangeEventHeader', 'LastModifiedDate']);
    expect(edited!.payload.ChangeEventHeader).toMatchObject({
      changeType: 'UPDATE',
      changedFields: ['Amount', 'LastModifiedDate'],
    });
    expect(won!.payload).toMatchObject({ StageName: 'Closed Won', IsWon: true, IsClosed: true });
    expect(won!.payload.ChangeEventHeader).toMatchObject({
      changeType: 'UPDATE',
      changeOrigin: 'com/salesforce/api/rest/62.0;client=partnerloop',
      commitUser: sf.userId,
    });
    expect(won!.payload.ChangeEventHeader.changedFields).toEqual(
      expect.arrayContaining(['StageName', 'IsWon', 'LastModifiedDate']),
    );
    expect(won!.payload).not.toHaveProperty('Name');
    expect(Object.keys(deleted!.payload)).toEqual(['ChangeEventHeader']);
    expect(deleted!.payload.ChangeEventHeader.changeType).toBe('DELETE');
    expect(undeleted!.payload).toMatchObject({
      ChangeEventHeader: { changeType: 'UNDELETE' },
      Name: 'Alpha',
    });
    expect(replayIds(stream)).toEqual([1, 2, 3, 4, 5].map((n) => created!.event.replayId + n - 1));
    expect(created!.payload.CreatedDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('gives the records of one transaction one transactionKey and increasing sequence numbers', async () => {
    const conn = await start();
    const stream = await subscribe(conn);
    await conn.sobject('Opportunity').create([newDeal('One'), newDeal('Two')], { allOrNone: true });
    const [one, two] = await stream.waitFor(2);
    const [h1, h2] = [one!.payload.ChangeEventHeader, two!.payload.ChangeEventHeader];
    expect(h1.transactionKey).toBe(h2.transactionKey);
    expect([h1.sequenceNumber, h2.sequenceNumber]).toEqual([1, 2]);
    expect(h1.commitNumber).toBe(h2.commitNumber);
    // Accounts are not selected for Change Data Capture: no event.
    sf.userInsert('Account', { Name: 'Acme' });
    sf.userInsert('Opportunity', newDeal('Three'));
    await stream.waitFor(3);
    expect(headers(stream).map((h) => h.entityName)).toEqual(['Opportunity', 'Opportunity', 'Opportunity']);
  });

  it('replays what followed a stored replay id after a reconnect, with no loss and no duplicate', async () => {
    const conn = await start();
    const first = await subscribe(conn);
    for (const name of ['A', 'B', 'C']) sf.userInsert('Opportunity', newDeal(name));
    await first.waitFor(3);
    const stored = first.messages.at(-1)!.event.replayId;
    await first.close();
    for (const name of ['D', 'E']) sf.userInsert('Opportunity', newDeal(name));
    const second = await subscribe(conn, { replayId: stored });
    await second.waitFor(2);
    sf.userInsert('Opportunity', newDeal('F'));
    await second.waitFor(3);
    expect(second.messages.map((m) => m.payload.Name)).toEqual(['D', 'E', 'F']);
    await new Promise((r) => setTimeout(r, 50));
    expect(second.messages).toHaveLength(3);
  });

  it('replays all retained events for -2, only new ones for -1, and refuses an unknown replay id', async () => {
    const conn = await start({ retainedEvents: 3 });
    for (const name of ['A', 'B', 'C', 'D']) sf.userInsert('Opportunity', newDeal(name));
    const all = await subscribe(conn, { replayId: -2 });
    await all.waitFor(3);
    expect(all.messages.map((m) => m.payload.Name)).toEqual(['B', 'C', 'D']);
    const fresh = await subscribe(conn, { replayId: -1 });
    sf.userInsert('Opportunity', newDeal('E'));
    await fresh.waitFor(1);
    expect(fresh.messages.map((m) => m.payload.Name)).toEqual(['E']);
    const tooOld = subscribeToChanges(conn, { replayId: 1 });
    subscribers.push(tooOld);
    await expect(tooOld.ready).rejects.toMatchObject({
      message: expect.stringContaining('The replayId {1} you provided was invalid'),
    });
    const future = subscribeToChanges(conn, { replayId: 999 });
    subscribers.push(future);
    await expect(future.ready).rejects.toMatchObject({
      message: expect.stringMatching(/^400::The replayId \{999\}/),
    });
  });

  it('re-handshakes a client the server forgot and resumes from its last replay id', async () => {
    const conn = await start();
    const stream = await subscribe(conn);
    sf.userInsert('Opportunity', newDeal('Before'));
    await stream.waitFor(1);
    sf.dropStreamingClients();
    sf.userInsert('Opportunity', newDeal('While away'));
    await stream.waitFor(2, 10_000);
    sf.userInsert('Opportunity', newDeal('After'));
    await stream.waitFor(3);
    expect(stream.messages.map((m) => m.payload.Name)).toEqual(['Before', 'While away', 'After']);
  });

  it('emits GAP_UPDATE and GAP_OVERFLOW events for the given record ids or a key-prefix wildcard', async () => {
    const conn = await start();
    const stream = await subscribe(conn);
    const id = sf.userInsert('Opportunity', newDeal('Gappy'));
    sf.emitGap('GAP_UPDATE', [id]);
    sf.emitGap('GAP_OVERFLOW', []);
    await stream.waitFor(3);
    expect(headers(stream).slice(1)).toMatchObject([
      { changeType: 'GAP_UPDATE', recordIds: [id], entityName: 'Opportunity', changedFields: [] },
      { changeType: 'GAP_OVERFLOW', recordIds: ['006*'], entityName: 'Opportunity' },
    ]);
  });

  it('answers 401::Authentication invalid once the session is gone, which jsforce AuthFailure reports', async () => {
    const conn = await start();
    const stream = await subscribe(conn);
    sf.expireAccessTokens();
    await expect.poll(() => stream.authFailures.length).toBe(1);
    expect(stream.authFailures[0]).toMatchObject({
      error: '401::Authentication invalid',
      advice: { reconnect: 'none' },
    });
    sf.userInsert('Opportunity', newDeal('Missed while out'));
    // The app refreshes its session and subscribes again from its last replay id.
    await conn.query('SELECT Id FROM Opportunity');
    const again = await subscribe(conn, { replayId: 0 });
    await again.waitFor(1);
    expect(again.messages[0]!.payload.Name).toBe('Missed while out');
    const stale = subscribeToChanges(
      new jsforce.Connection({ instanceUrl: sf.url, accessToken: 'stale', version: '62.0' }),
    );
    subscribers.push(stale);
    await expect.poll(() => stale.authFailures.length).toBe(1);
    expect(stale.authFailures[0]).toMatchObject({ error: '403::Handshake denied' });
  });

  it('refuses the subscription when Change Data Capture is not enabled for Opportunity, and records no events', async () => {
    const conn = await start({ cdcEnabled: false });
    const refused = subscribeToChanges(conn);
    subscribers.push(refused);
    await expect(refused.ready).rejects.toMatchObject({
      message: expect.stringContaining('The channel you requested to subscribe to does not exist'),
    });
    sf.userInsert('Opportunity', newDeal('Unseen'));
    expect(sf.changeEvents()).toEqual([]);
    sf.setCdcEnabled(true);
    const stream = await subscribe(conn, { channel: '/data/ChangeEvents' });
    sf.userInsert('Opportunity', newDeal('Seen'));
    await stream.waitFor(1);
    expect(stream.messages[0]!.payload.Name).toBe('Seen');
  });

  it('closes promptly while a connect is held, and long polls end at the advised timeout', async () => {
    const conn = await start({ cometdTimeoutMs: 200 });
    const stream = await subscribe(conn);
    await new Promise((r) => setTimeout(r, 500));
    sf.userInsert('Opportunity', newDeal('After a few polls'));
    await stream.waitFor(1);
    await sf.close();
    const sf2 = await startLocalSalesforce();
    const conn2 = connectWithTokens(sf2);
    const held = subscribeToChanges(conn2);
    await held.ready;
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await sf2.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await held.close();
  });
});
