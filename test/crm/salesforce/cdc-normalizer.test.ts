import { describe, expect, it } from 'vitest';
import {
  changeEventProblem,
  isOwnOrigin,
  opportunityChanges,
  salesforceChangeNormalizer,
} from '../../../src/crm/salesforce/salesforce-change-events.ts';

const AT = Date.parse('2026-12-07T10:00:00.000Z');

/** A change event as Salesforce's CometD delivers it on /data/OpportunityChangeEvent. */
function event(
  header: Record<string, unknown>,
  fields: Record<string, unknown> = {},
  replayId: number | string = 42,
) {
  return {
    schema: 'x9_h7WqjBzHnDHKxlF5O2Q',
    payload: {
      ChangeEventHeader: {
        entityName: 'Opportunity',
        recordIds: ['006000000000001AAA'],
        changeType: 'UPDATE',
        changedFields: [],
        changeOrigin: 'com/salesforce/api/soap/62.0;client=SfdcInternalAPI/',
        transactionKey: '0002343d-9d90-e395-ed20-cf416ba652ad',
        sequenceNumber: 1,
        commitTimestamp: AT,
        commitNumber: 1_234_567,
        commitUser: '005000000000001AAA',
        ...header,
      },
      ...fields,
    },
    event: { replayId },
  };
}

describe('Salesforce change events → deal changes', () => {
  it('an UPDATE maps only its changed fields to the neutral fields', () => {
    const changes = opportunityChanges(
      event(
        { changedFields: ['StageName', 'Amount', 'LastModifiedDate', 'Description'] },
        {
          StageName: 'Closed Won',
          Amount: 12500.5,
          LastModifiedDate: '2026-12-07T10:00:00Z',
          Description: 'x',
        },
      ),
      'partnerloop',
    );
    expect(changes).toEqual([
      {
        sourceEventId: '0002343d-9d90-e395-ed20-cf416ba652ad:1:006000000000001AAA',
        dealId: '006000000000001AAA',
        kind: 'updated',
        occurredAt: new Date(AT),
        changes: { stageId: 'Closed Won', amount: '12500.5' },
        ownWrite: false,
      },
    ]);
  });

  it('every mapped field: name, stage, amount, currency, close date, owner; a nulled field is null', () => {
    const [change] = opportunityChanges(
      event(
        {
          changedFields: ['Name', 'StageName', 'Amount', 'CurrencyIsoCode', 'CloseDate', 'OwnerId'],
          nulledFields: ['Amount'],
        },
        {
          Name: 'Globex renewal',
          StageName: 'Negotiation/Review',
          Amount: null,
          CurrencyIsoCode: 'EUR',
          CloseDate: '2027-01-31',
          OwnerId: '005000000000002AAA',
        },
      ),
      'partnerloop',
    );
    expect(change?.changes).toEqual({
      name: 'Globex renewal',
      stageId: 'Negotiation/Review',
      amount: null,
      currency: 'EUR',
      closeDate: '2027-01-31',
      ownerId: '005000000000002AAA',
    });
  });

  it('CREATE and UNDELETE carry every non-null field of the body, whatever changedFields says', () => {
    const body = {
      Name: 'Initech',
      StageName: 'Prospecting',
      Amount: 5000,
      CloseDate: '2027-03-01',
      AccountId: '001x',
    };
    const [created] = opportunityChanges(
      event({ changeType: 'CREATE', changedFields: [] }, body),
      'partnerloop',
    );
    expect(created).toMatchObject({
      kind: 'created',
      changes: { name: 'Initech', stageId: 'Prospecting', amount: '5000', closeDate: '2027-03-01' },
    });
    expect(created?.changes).not.toHaveProperty('ownerId');
    const [restored] = opportunityChanges(event({ changeType: 'UNDELETE' }, body), 'partnerloop');
    expect(restored).toMatchObject({ kind: 'restored', changes: { stageId: 'Prospecting' } });
    const [deleted] = opportunityChanges(event({ changeType: 'DELETE' }), 'partnerloop');
    expect(deleted).toMatchObject({ kind: 'deleted', changes: {} });
  });

  it('a merged event for several records becomes one change per record id, each with its own source id', () => {
    const changes = opportunityChanges(
      event(
        { recordIds: ['006A', '006B', '006C'], changedFields: ['StageName'] },
        { StageName: 'Closed Lost' },
      ),
      'partnerloop',
    );
    expect(changes.map((c) => [c.dealId, c.changes.stageId])).toEqual([
      ['006A', 'Closed Lost'],
      ['006B', 'Closed Lost'],
      ['006C', 'Closed Lost'],
    ]);
    expect(new Set(changes.map((c) => c.sourceEventId)).size).toBe(3);
  });

  it('the source event id is stable across redeliveries and falls back to the replay id', () => {
    const message = event({ changedFields: ['Amount'] }, { Amount: 1 }, 77);
    expect(opportunityChanges(message, 'p')[0]?.sourceEventId).toBe(
      opportunityChanges(structuredClone(message), 'p')[0]?.sourceEventId,
    );
    const second = event({ changedFields: ['Amount'], sequenceNumber: 2 }, { Amount: 2 }, 78);
    expect(opportunityChanges(second, 'p')[0]?.sourceEventId).not.toBe(
      opportunityChanges(message, 'p')[0]?.sourceEventId,
    );
    const noKey = event({ transactionKey: undefined, changedFields: ['Amount'] }, { Amount: 3 }, 79);
    expect(opportunityChanges(noKey, 'p')[0]?.sourceEventId).toBe('replay:79:006000000000001AAA');
  });

  it('GAP_* events are gaps to re-read; GAP_OVERFLOW with a wildcard id is a gap for every deal', () => {
    const [gap] = opportunityChanges(
      event({ changeType: 'GAP_UPDATE', recordIds: ['006G'], changedFields: [] }),
      'partnerloop',
    );
    expect(gap).toMatchObject({ kind: 'gap', dealId: '006G', changes: {} });
    const [overflow] = opportunityChanges(
      event({ changeType: 'GAP_OVERFLOW', recordIds: ['006*'], transactionKey: '' }, {}, 90),
      'partnerloop',
    );
    expect(overflow).toMatchObject({ kind: 'gap', dealId: '*', sourceEventId: 'replay:90:*' });
    const [empty] = opportunityChanges(event({ changeType: 'GAP_OVERFLOW', recordIds: [] }), 'partnerloop');
    expect(empty).toMatchObject({ kind: 'gap', dealId: '*' });
  });

  it('our own writes (client=<SALESFORCE_CALL_CLIENT> in changeOrigin) are flagged, look-alikes are not', () => {
    const own = event(
      { changeOrigin: 'com/salesforce/api/rest/62.0;client=partnerloop', changedFields: ['StageName'] },
      { StageName: 'Qualification' },
    );
    expect(opportunityChanges(own, 'partnerloop')[0]?.ownWrite).toBe(true);
    expect(opportunityChanges(own, 'someone-else')[0]?.ownWrite).toBe(false);
    expect(isOwnOrigin('com/salesforce/api/rest/62.0;client=partnerloop2', 'partnerloop')).toBe(false);
    expect(isOwnOrigin('client=partnerloop', 'partnerloop')).toBe(false);
    expect(isOwnOrigin(undefined, 'partnerloop')).toBe(false);
  });

  it('events of other objects and unknown change types give no deal change', () => {
    expect(opportunityChanges(event({ entityName: 'Account' }), 'p')).toEqual([]);
    expect(opportunityChanges(event({ changeType: 'SOMETHING_NEW' }), 'p')).toEqual([]);
  });

  it('a message that is not a change event is refused with what is wrong', () => {
    expect(changeEventProblem(null)).toBe('not an object');
    expect(changeEventProblem({ payload: {} })).toBe('no payload.ChangeEventHeader');
    expect(changeEventProblem(event({ recordIds: 'x' }))).toMatch(/recordIds/);
    expect(changeEventProblem(event({ commitTimestamp: 'soon' }))).toMatch(/commitTimestamp/);
    expect(changeEventProblem({ ...event({}), event: {} })).toMatch(/replayId/);
    expect(() => opportunityChanges({ payload: {} }, 'p')).toThrow(/ChangeEventHeader/);
  });

  it('the normalizer flattens a list of messages in order', () => {
    const normalizer = salesforceChangeNormalizer('partnerloop');
    const changes = normalizer.toDealChanges([
      event({ recordIds: ['006A'], changeType: 'CREATE' }, { StageName: 'Prospecting' }, 1),
      event(
        { recordIds: ['006A'], changedFields: ['StageName'], sequenceNumber: 2 },
        { StageName: 'Closed Won' },
        2,
      ),
    ]);
    expect(changes.map((c) => [c.kind, c.changes.stageId])).toEqual([
      ['created', 'Prospecting'],
      ['updated', 'Closed Won'],
    ]);
  });
});
