import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { expireRegistrations, submitRegistration } from '../../src/registrations/registration.service.ts';
import type { ConflictSource } from '../../src/registrations/registration-conflicts.ts';
import { usingPostgres } from '../helpers/test-database.ts';
import { act, openWorld, type RegistrationWorld, setupProgram, submit } from './registration-setup.ts';

const DAY = 86_400_000;

describe(`conflict detection at submission (${usingPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let world: RegistrationWorld;
  const clock = new ManualClock(new Date('2026-05-04T12:00:00.000Z'));

  beforeAll(async () => {
    world = await openWorld({ clock });
  });
  afterAll(async () => {
    await world?.close();
  });

  /** Submits for `partnerId` and returns the created registration (asserting the 201). */
  async function registered(
    setup: Awaited<ReturnType<typeof setupProgram>>,
    partnerId: string,
    body: object,
  ) {
    const response = await submit(world.app, setup, partnerId, body as Record<string, unknown>);
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  }

  it('sees https://www.Acme.co.uk/about and acme.co.uk as one prospect of two partners', async () => {
    const setup = await setupProgram(world.runtime.db);
    const [a, b] = [await setup.partner(), await setup.partner()];
    const first = await registered(setup, a.id, {
      companyName: 'Acme UK',
      website: 'https://www.Acme.co.uk/about',
    });
    expect(first).toMatchObject({ domain: 'acme.co.uk', checkOutcome: 'clear', relatedRegistrationId: null });
    const second = await registered(setup, b.id, {
      companyName: 'Totally Other Name',
      website: 'acme.co.uk',
    });
    expect(second).toMatchObject({
      domain: 'acme.co.uk',
      status: 'submitted',
      checkOutcome: 'conflict_with',
      relatedRegistrationId: first.id,
    });
    expect(second.checkDetails.signals).toEqual(['domain']);
  });

  it('matches a sub-domain of a registered domain', async () => {
    const setup = await setupProgram(world.runtime.db);
    const [a, b] = [await setup.partner(), await setup.partner()];
    const first = await registered(setup, a.id, { companyName: 'Initrode', website: 'initrode.com' });
    const second = await registered(setup, b.id, {
      companyName: 'Initrode EU',
      website: 'https://shop.eu.initrode.com/',
    });
    expect(second).toMatchObject({
      domain: 'initrode.com',
      checkOutcome: 'conflict_with',
      relatedRegistrationId: first.id,
    });
  });

  it('matches the same contact email, whatever its case', async () => {
    const setup = await setupProgram(world.runtime.db);
    const [a, b] = [await setup.partner(), await setup.partner()];
    const first = await registered(setup, a.id, {
      companyName: 'Alpha Works',
      website: 'alpha-works.com',
      contactEmail: 'jane.doe@gmail.com',
    });
    const second = await registered(setup, b.id, {
      companyName: 'Beta Labs',
      website: 'beta-labs.io',
      contactEmail: 'Jane.Doe@GMAIL.com',
    });
    expect(second).toMatchObject({ contactEmail: 'jane.doe@gmail.com', checkOutcome: 'conflict_with' });
    expect(second.relatedRegistrationId).toBe(first.id);
    expect(second.checkDetails.signals).toEqual(['email']);
  });

  it('takes a company mailbox domain as the prospect domain when no website is given', async () => {
    const setup = await setupProgram(world.runtime.db);
    const [a, b] = [await setup.partner(), await setup.partner()];
    const first = await registered(setup, a.id, {
      companyName: 'Vandelay Industries',
      website: 'vandelay.com',
    });
    const second = await registered(setup, b.id, {
      companyName: 'Kramerica',
      contactEmail: 'art@sales.vandelay.com',
    });
    expect(second).toMatchObject({
      domain: 'vandelay.com',
      checkOutcome: 'conflict_with',
      relatedRegistrationId: first.id,
    });
  });

  it('matches fuzzy-same company names and leaves clearly different ones clear', async () => {
    const setup = await setupProgram(world.runtime.db);
    const [a, b, c] = [await setup.partner(), await setup.partner(), await setup.partner()];
    const acme = await registered(setup, a.id, { companyName: 'Acme Corp.' });
    const same = await registered(setup, b.id, { companyName: 'ACME Corporation' });
    expect(same).toMatchObject({
      checkOutcome: 'conflict_with',
      relatedRegistrationId: acme.id,
      companyKey: 'acme',
    });
    expect(same.checkDetails).toMatchObject({ signals: ['company_name'], similarity: 1 });

    const widgets = await registered(setup, a.id, { companyName: 'Hooli Widgets Ltd' });
    const near = await registered(setup, c.id, { companyName: 'Hooli Widget' });
    expect(near).toMatchObject({ checkOutcome: 'conflict_with', relatedRegistrationId: widgets.id });
    expect(near.checkDetails.similarity).toBeGreaterThanOrEqual(0.75);
    expect(near.checkDetails.similarity).toBeLessThan(1);

    const foods = await registered(setup, b.id, { companyName: 'Pied Piper Foods' });
    expect(foods.checkOutcome).toBe('clear');
    const bank = await registered(setup, c.id, { companyName: 'Pied Piper Bank' });
    expect(bank).toMatchObject({ checkOutcome: 'clear', relatedRegistrationId: null });
  });

  it("marks the same partner's second registration of a prospect as duplicate_of the first", async () => {
    const setup = await setupProgram(world.runtime.db);
    const a = await setup.partner();
    const first = await registered(setup, a.id, { companyName: 'Soylent', website: 'soylent.com' });
    const again = await registered(setup, a.id, { companyName: 'Soylent Corp', website: 'www.soylent.com' });
    expect(again).toMatchObject({ checkOutcome: 'duplicate_of', relatedRegistrationId: first.id });
    expect(again.checkDetails.signals).toEqual(['domain', 'company_name']);
  });

  it('points a third claim at the standing (clear) one, not at the other challenger', async () => {
    const setup = await setupProgram(world.runtime.db);
    const [a, b, c] = [await setup.partner(), await setup.partner(), await setup.partner()];
    const first = await registered(setup, a.id, { companyName: 'Cyberdyne', website: 'cyberdyne.com' });
    await registered(setup, b.id, { companyName: 'Cyberdyne', website: 'cyberdyne.com' });
    const third = await registered(setup, c.id, {
      companyName: 'Cyberdyne Systems',
      website: 'cyberdyne.com',
    });
    expect(third).toMatchObject({ checkOutcome: 'conflict_with', relatedRegistrationId: first.id });
  });

  it('is not blocked by rejected, expired or no longer protected registrations', async () => {
    const setup = await setupProgram(world.runtime.db, { program: { protectionDays: 10 } });
    const [a, b, c, d] = [
      await setup.partner(),
      await setup.partner(),
      await setup.partner(),
      await setup.partner(),
    ];
    const rejected = await registered(setup, a.id, { companyName: 'Tyrell', website: 'tyrell.com' });
    const reject = await act(world.app, setup, rejected.id, 'reject', { payload: { reason: 'not a fit' } });
    expect(reject.json().status).toBe('rejected');
    const afterRejection = await registered(setup, b.id, { companyName: 'Tyrell', website: 'tyrell.com' });
    expect(afterRejection.checkOutcome).toBe('clear');

    // Approved, then its protection lapses: before the sweep it no longer blocks, after it neither.
    expect((await act(world.app, setup, afterRejection.id, 'approve')).json().status).toBe('approved');
    clock.advance(11 * DAY);
    try {
      const lapsed = await registered(setup, c.id, { companyName: 'Tyrell', website: 'tyrell.com' });
      expect(lapsed.checkOutcome).toBe('clear');
      await expireRegistrations(world.runtime.db, clock.now());
      const expired = await world.app.inject({
        method: 'GET',
        url: `/api/v1/registrations/${afterRejection.id}`,
        headers: setup.t.as('sales_rep'),
      });
      expect(expired.json().status).toBe('expired');
      // c's claim (submitted, within its window) still blocks d.
      const blocked = await registered(setup, d.id, { companyName: 'Tyrell', website: 'tyrell.com' });
      expect(blocked).toMatchObject({ checkOutcome: 'conflict_with', relatedRegistrationId: lapsed.id });
    } finally {
      clock.set(new Date('2026-05-04T12:00:00.000Z'));
    }
  });

  it("never matches another tenant's registrations", async () => {
    const one = await setupProgram(world.runtime.db);
    const two = await setupProgram(world.runtime.db);
    await registered(one, (await one.partner()).id, { companyName: 'Wonka', website: 'wonka.com' });
    const other = await registered(two, (await two.partner()).id, {
      companyName: 'Wonka',
      website: 'wonka.com',
    });
    expect(other.checkOutcome).toBe('clear');
  });

  it('takes an open deal of direct sales in the CRM for a conflict, with its deal id', async () => {
    const setup = await setupProgram(world.runtime.db);
    const partner = await setup.partner();
    const asked: [string | null, string | null][] = [];
    const crm = (ownerType: 'direct' | 'partner'): ConflictSource => ({
      async findOpenDeals(domain, email) {
        asked.push([domain, email]);
        return [{ dealId: `deal-${ownerType}`, ownerType }];
      },
    });
    const submitWith = (source: ConflictSource, website: string) =>
      world.runtime.db.transaction().execute((tx) =>
        submitRegistration(
          tx,
          {
            services: world.runtime.services,
            audit: { tenantId: setup.t.tenant.id, actorType: 'system', actorId: null, source: 'test' },
            conflictSource: source,
          },
          {
            tenantId: setup.t.tenant.id,
            programId: setup.program.id,
            partnerId: partner.id,
            source: 'email',
            companyName: `Company of ${website}`,
            website,
            contactEmail: `buyer@${website}`,
          },
        ),
      );
    const direct = await submitWith(crm('direct'), 'gringotts.com');
    expect(direct).toMatchObject({ check_outcome: 'conflict_with', related_registration_id: null });
    expect(direct.check_details).toEqual({ signals: ['crm_open_deal'], crmDealId: 'deal-direct' });
    const viaPartner = await submitWith(crm('partner'), 'ollivanders.com');
    expect(viaPartner.check_outcome).toBe('clear');
    expect(asked).toEqual([
      ['gringotts.com', 'buyer@gringotts.com'],
      ['ollivanders.com', 'buyer@ollivanders.com'],
    ]);
  });

  it('lets exactly one of two partners registering one domain at the same moment win', async () => {
    const setup = await setupProgram(world.runtime.db);
    const [a, b] = [await setup.partner(), await setup.partner()];
    const responses = await Promise.all(
      [a, b].map((p, i) =>
        submit(world.app, setup, p.id, { companyName: `Race ${i}`, website: 'race-two.com' }),
      ),
    );
    const bodies = responses.map((r) => {
      expect(r.statusCode, r.body).toBe(201);
      return r.json();
    });
    const winners = bodies.filter((r) => r.checkOutcome === 'clear');
    expect(winners).toHaveLength(1);
    const loser = bodies.find((r) => r.checkOutcome !== 'clear');
    expect(loser).toMatchObject({ checkOutcome: 'conflict_with', relatedRegistrationId: winners[0].id });
  });

  it('lets exactly one of ten concurrent registrations of one domain win', async () => {
    const setup = await setupProgram(world.runtime.db);
    const partners = await Promise.all(Array.from({ length: 10 }, () => setup.partner()));
    const responses = await Promise.all(
      partners.map((p, i) =>
        submit(world.app, setup, p.id, {
          companyName: `Stampede ${i}`,
          website: `https://www${i}.stampede.org/`,
        }),
      ),
    );
    const bodies = responses.map((r) => {
      expect(r.statusCode, r.body).toBe(201);
      return r.json();
    });
    const winners = bodies.filter((r) => r.checkOutcome === 'clear');
    expect(winners).toHaveLength(1);
    for (const loser of bodies.filter((r) => r.checkOutcome !== 'clear')) {
      expect(loser).toMatchObject({ checkOutcome: 'conflict_with', relatedRegistrationId: winners[0].id });
    }
  });
});
