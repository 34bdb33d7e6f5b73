import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileDealsSince } from '../../../src/crm/crm-reconcile.ts';
import { toCrmStage } from '../../../src/crm/salesforce/salesforce-fields.ts';
import { syncStageMappings } from '../../../src/crm/stage-mapping.repository.ts';
import { openSalesforceWorld, type SalesforceWorld } from './salesforce-world.ts';

/** OpportunityStage rows as Salesforce's REST API returns them (DefaultProbability in percent). */
const stage = (
  ApiName: string,
  IsClosed: boolean,
  IsWon: boolean,
  DefaultProbability: number,
  SortOrder = 1,
) => ({
  ApiName,
  MasterLabel: ApiName,
  IsActive: true,
  IsClosed,
  IsWon,
  DefaultProbability,
  SortOrder,
});

describe('Salesforce stages: IsClosed/IsWon decide, the admin overrides', () => {
  it('reads closed & won as won and closed & not won as lost, whatever the probability; open stays open', () => {
    expect(toCrmStage(stage('Closed Won', true, true, 100))).toMatchObject({
      categoryHint: 'won',
      isWon: true,
      probability: 1,
    });
    // A won stage an org set to 90 % is still won; a lost one at 10 % still lost (HubSpot would say neither).
    expect(toCrmStage(stage('Won - Partial', true, true, 90)).categoryHint).toBe('won');
    expect(toCrmStage(stage('Lost - Budget', true, false, 10)).categoryHint).toBe('lost');
    expect(toCrmStage(stage('Negotiation/Review', false, false, 90))).toMatchObject({
      categoryHint: 'open',
      isWon: null,
      probability: 0.9,
    });
  });

  let world: SalesforceWorld;
  beforeAll(async () => {
    world = await openSalesforceWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it("the org's stages become the stage mapping; an admin override survives a re-read and decides reconciled deals", async () => {
    const t = await world.connectTenant(await world.startOrg());
    const pipelines = await t.connector.listPipelines();
    if (!pipelines.ok) throw new Error(JSON.stringify(pipelines.error));
    expect(pipelines.value).toHaveLength(1);
    expect(pipelines.value[0]?.stages.map((s) => [s.id, s.categoryHint])).toEqual([
      ['Prospecting', 'open'],
      ['Qualification', 'open'],
      ['Needs Analysis', 'open'],
      ['Proposal/Price Quote', 'open'],
      ['Negotiation/Review', 'open'],
      ['Closed Won', 'won'],
      ['Closed Lost', 'lost'],
    ]);
    await syncStageMappings(world.runtime.db, t.tenant.id, pipelines.value);

    const override = await world.app.inject({
      method: 'PATCH',
      url: '/api/v1/crm/stage-mapping',
      headers: t.as('admin'),
      payload: { stages: [{ pipelineId: 'Opportunity', stageId: 'Negotiation/Review', category: 'won' }] },
    });
    expect(override.statusCode, override.body).toBe(200);
    const again = await t.connector.listPipelines();
    await syncStageMappings(world.runtime.db, t.tenant.id, again.ok ? again.value : []);
    const listed = await world.app.inject({
      method: 'GET',
      url: '/api/v1/crm/stage-mapping',
      headers: t.as('admin'),
    });
    const negotiation = listed
      .json()
      .stages.find((s: { stageId: string }) => s.stageId === 'Negotiation/Review');
    expect(negotiation).toMatchObject({
      derivedCategory: 'open',
      overrideCategory: 'won',
      category: 'won',
      isWon: null,
    });
    const won = listed.json().stages.find((s: { stageId: string }) => s.stageId === 'Closed Won');
    expect(won).toMatchObject({ isClosed: true, isWon: true, category: 'won' });

    const negotiating = t.org.userInsert('Opportunity', {
      Name: 'Big one',
      StageName: 'Negotiation/Review',
      CloseDate: '2027-01-31',
      Amount: 5000,
    });
    const lost = t.org.userInsert('Opportunity', {
      Name: 'Gone',
      StageName: 'Closed Lost',
      CloseDate: '2027-01-31',
      Amount: 10,
    });
    const report = await reconcileDealsSince(
      world.runtime.db,
      world.runtime.services,
      t.tenant.id,
      new Date(0),
    );
    expect(report.ok, JSON.stringify(report)).toBe(true);
    const deals = await world.runtime.db
      .selectFrom('deals')
      .select(['crm_deal_id', 'source', 'stage', 'stage_category', 'amount', 'close_date'])
      .where('tenant_id', '=', t.tenant.id)
      .orderBy('crm_deal_id')
      .execute();
    expect(deals).toEqual(
      [
        {
          crm_deal_id: negotiating,
          source: 'salesforce',
          stage: 'Negotiation/Review',
          stage_category: 'won',
          amount: 500000n,
          close_date: '2027-01-31',
        },
        {
          crm_deal_id: lost,
          source: 'salesforce',
          stage: 'Closed Lost',
          stage_category: 'lost',
          amount: 1000n,
          close_date: '2027-01-31',
        },
      ].sort((a, b) => (a.crm_deal_id < b.crm_deal_id ? -1 : 1)),
    );
  });
});
