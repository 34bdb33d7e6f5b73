import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageCategoryOf } from '../../src/crm/crm-connector.ts';
import { toCrmStage } from '../../src/crm/hubspot/hubspot-properties.ts';
import { syncStageMappings } from '../../src/crm/stage-mapping.repository.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

/** HubSpot's stage metadata as its pipelines API sends it: strings. */
const hubspotStages = [
  { id: 'demo', metadata: { isClosed: 'false', probability: '0.2' }, expected: 'open' },
  { id: 'won', metadata: { isClosed: 'true', probability: '1.0' }, expected: 'won' },
  { id: 'lost', metadata: { isClosed: 'true', probability: '0.0' }, expected: 'lost' },
  // Closed, but neither won nor lost: no commission moves until the admin decides.
  { id: 'closed-on-hold', metadata: { isClosed: 'true', probability: '0.5' }, expected: 'open' },
  { id: 'closed-no-probability', metadata: { isClosed: 'true' }, expected: 'open' },
  { id: 'open-at-one', metadata: { isClosed: 'false', probability: '1.0' }, expected: 'open' },
] as const;

describe('stage categories', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('reads closed & 1 as won, closed & 0 as lost, everything else as open', () => {
    expect(stageCategoryOf({ isClosed: false, probability: 0 })).toBe('open');
    expect(stageCategoryOf({ isClosed: true, probability: 1 })).toBe('won');
    expect(stageCategoryOf({ isClosed: true, probability: 0 })).toBe('lost');
    expect(stageCategoryOf({ isClosed: true, probability: 0.5 })).toBe('open');
    expect(stageCategoryOf({ isClosed: true, probability: null })).toBe('open');
  });

  it('the connector and the install-time mapping classify every HubSpot stage alike', async () => {
    const stages = hubspotStages.map((s, i) =>
      toCrmStage({ id: s.id, label: s.id, displayOrder: i, metadata: { ...s.metadata } }),
    );
    expect(Object.fromEntries(stages.map((s) => [s.id, s.categoryHint]))).toEqual(
      Object.fromEntries(hubspotStages.map((s) => [s.id, s.expected])),
    );
    const db = database.handle.db;
    const { tenant } = await makeTenant(db, { crmKind: 'hubspot', crmAccountId: '7001' });
    await syncStageMappings(db, tenant.id, [{ id: 'default', label: 'Sales', displayOrder: 0, stages }]);
    const mapped = await db
      .selectFrom('crm_stage_mappings')
      .select(['stage_id', 'derived_category'])
      .where('tenant_id', '=', tenant.id)
      .execute();
    expect(Object.fromEntries(mapped.map((m) => [m.stage_id, m.derived_category]))).toEqual(
      Object.fromEntries(stages.map((s) => [s.id, s.categoryHint])),
    );
  });
});
