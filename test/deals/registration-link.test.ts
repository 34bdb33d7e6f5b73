import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRuleVersion, createPlan } from '../../src/commissions/commission-plan.repository.ts';
import type { Db } from '../../src/db/database.ts';
import {
  dealAttributions,
  findDealByCrmId,
  linkDealToRegistration,
} from '../../src/deals/deal.repository.ts';
import { recordDealEvent } from '../../src/deals/deal-events.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { usingPostgres } from '../helpers/test-database.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';
import { waitFor } from '../helpers/wait-for.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

describe(`registrations and deals: flat fee on approval, deal linked to a registration (${mode})`, () => {
  let world: TestWorld;
  let db: Db;
  let t: TenantWithKeys;
  let program: ProgramRow;
  let parent: PartnerRow;
  let partner: PartnerRow;

  beforeAll(async () => {
    world = await openWorld();
    db = world.database.handle.db;
    t = await makeTenant(db);
    program = await makeProgram(db, t.tenant.id);
    parent = await makePartner(db, t.tenant.id);
    partner = await makePartner(db, t.tenant.id, { parentId: parent.id });
    await makeEnrolment(db, t.tenant.id, program.id, partner.id);
    await db.transaction().execute(async (tx) => {
      const plan = await createPlan(tx, { tenantId: t.tenant.id, programId: program.id, name: 'Plan' });
      const base = {
        tenantId: t.tenant.id,
        planId: plan.id,
        effectiveFrom: new Date('2020-01-01T00:00:00Z'),
      };
      await addRuleVersion(tx, {
        ...base,
        ruleKey: 'fee',
        type: 'flat_fee',
        config: { amount: '5000', on: 'registration_approved' },
      });
      await addRuleVersion(tx, { ...base, ruleKey: 'share', type: 'revenue_share', config: { rate: '0.1' } });
      await addRuleVersion(tx, {
        ...base,
        ruleKey: 'ovr',
        type: 'override',
        config: { basis: 'commission', levels: ['0.1'] },
      });
    });
    await world.runtime.queue.startWorkers(world.runtime.registry.queues());
    world.runtime.relay.start();
  });
  afterAll(async () => {
    await world.close();
  });

  let registrationId: string;

  it('an approved registration earns its flat fee of 50.00 (and 5.00 to the parent) once, through registration.approved', async () => {
    const submitted = await world.app.inject({
      method: 'POST',
      url: '/api/v1/registrations',
      headers: t.as('program_manager'),
      payload: {
        programId: program.id,
        partnerId: partner.id,
        companyName: 'Northwind',
        website: 'https://northwind-fees.com',
      },
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    registrationId = submitted.json().id;
    const approved = await world.app.inject({
      method: 'POST',
      url: `/api/v1/registrations/${registrationId}/approve`,
      headers: t.as('program_manager'),
    });
    expect(approved.statusCode, approved.body).toBe(200);
    const lines = await waitFor(
      'fee lines',
      async () => {
        const rows = await db
          .selectFrom('commission_lines')
          .selectAll()
          .where('tenant_id', '=', t.tenant.id)
          .execute();
        return rows.length >= 2 && rows;
      },
      { timeoutMs: 20_000 },
    );
    expect(lines.map((l) => [l.partner_id, BigInt(l.amount), l.kind]).sort()).toEqual(
      [
        [partner.id, 5_000n, 'commission'],
        [parent.id, 500n, 'override'],
      ].sort(),
    );
    expect(lines.every((l) => l.cause_key.startsWith(`registration:${registrationId}:`))).toBe(true);
  });

  it('linkDealToRegistration credits the registration’s partner and is idempotent; a later won event pays 10 %', async () => {
    const link = () =>
      db.transaction().execute((tx) =>
        linkDealToRegistration(tx, {
          tenantId: t.tenant.id,
          source: 'hubspot',
          crmDealId: 'hs-77',
          registrationId,
          name: 'Northwind',
          amount: 250_000n,
          currency: 'USD',
        }),
      );
    const first = await link();
    const second = await link();
    expect(second.id).toBe(first.id);
    expect(first).toMatchObject({
      program_id: program.id,
      registration_id: registrationId,
      name: 'Northwind',
    });
    expect(
      (await dealAttributions(db, t.tenant.id, first.id)).map((a) => [a.partner_id, a.role, a.position]),
    ).toEqual([[partner.id, 'referral', 0]]);
    const result = await db.transaction().execute((tx) =>
      recordDealEvent(tx, world.runtime.services, {
        tenantId: t.tenant.id,
        source: 'hubspot',
        sourceEventId: 'hs-evt-1',
        crmDealId: 'hs-77',
        occurredAt: new Date('2026-03-02T10:00:00Z'),
        type: 'deal.stage_changed',
        changes: { stage: { id: 'closedwon', category: 'won' } },
      }),
    );
    expect(result.outcome).toBe('applied');
    const lines = await db
      .selectFrom('commission_lines')
      .selectAll()
      .where('deal_id', '=', first.id)
      .execute();
    expect(lines.map((l) => BigInt(l.amount)).sort()).toEqual([2_500n, 25_000n]);
    expect((await findDealByCrmId(db, t.tenant.id, 'hubspot', 'hs-77'))?.stage_category).toBe('won');
  });

  it('a deal won before it is linked is settled when the link arrives', async () => {
    await db.transaction().execute((tx) =>
      recordDealEvent(tx, world.runtime.services, {
        tenantId: t.tenant.id,
        source: 'hubspot',
        sourceEventId: 'hs-evt-2',
        crmDealId: 'hs-78',
        occurredAt: new Date('2026-03-03T10:00:00Z'),
        type: 'deal.stage_changed',
        changes: {
          stage: { id: 'closedwon', category: 'won' },
          amount: { amount: 100_000n, currency: 'USD' },
        },
      }),
    );
    const deal = await db.transaction().execute((tx) =>
      linkDealToRegistration(tx, {
        tenantId: t.tenant.id,
        source: 'hubspot',
        crmDealId: 'hs-78',
        registrationId,
      }),
    );
    const lines = await db
      .selectFrom('commission_lines')
      .selectAll()
      .where('deal_id', '=', deal.id)
      .execute();
    expect(lines.map((l) => BigInt(l.amount)).sort()).toEqual([1_000n, 10_000n]);
  });
});
