import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { submitRegistration } from '../../src/registrations/registration.service.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { type PartnerWorld, setUpPartnerWorld } from './partner-world.ts';

describe('the registrations page behind a view link', () => {
  let w: PartnerWorld;
  let app: App;
  let viewToken: string;

  beforeAll(async () => {
    w = await setUpPartnerWorld();
    ({ app, viewToken } = w);
  });
  afterAll(async () => {
    await w.close();
  });

  it('lists the registrations of the partner and its whole subtree, never of a partner above or beside it', async () => {
    await w.seed(w.partner.id, 'Own Prospect Co', 'ownprospect.com');
    await w.seed(w.child.id, 'Child Prospect Co', 'childprospect.com');
    await w.seed(w.grandchild.id, 'Grandchild Prospect Co', 'grandchildprospect.com');
    await w.seed(w.sibling.id, 'Sibling Prospect Co', 'siblingprospect.com');
    await w.seed(w.top.id, 'Top Prospect Co', 'topprospect.com');
    const page = await app.inject({ method: 'GET', url: `/p/${viewToken}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Your registrations');
    expect(page.body).toContain('Own Prospect Co');
    expect(page.body).toContain('Child Prospect Co');
    expect(page.body).toContain('Grandchild Prospect Co');
    expect(page.body).toContain('Grandchild Subco');
    expect(page.body).not.toContain('Sibling Prospect Co');
    expect(page.body).not.toContain('Top Prospect Co');
    expect(page.body).toMatch(/<th scope="col">Protected until<\/th>/);
    expect(page.body).toContain('1 March 2027');
  });

  it('pages through a long list with an "Older registrations" link, each registration once', async () => {
    const busy = await makePartner(w.runtime.db, w.acme.tenant.id, { name: 'Busy Partners' });
    const busyContact = await makeContact(w.runtime.db, w.acme.tenant.id, busy.id);
    const { token } = await w.link('view_referrals', { contactId: busyContact.id });
    // 55 rows, in pairs sharing a created_at, so the id breaks ties across the page boundary.
    for (let i = 0; i < 55; i++) {
      await w.runtime.db
        .insertInto('registrations')
        .values({
          tenant_id: w.acme.tenant.id,
          program_id: w.program.id,
          partner_id: busy.id,
          source: 'api',
          company_name: `Busy Prospect ${String(i).padStart(2, '0')}`,
          company_key: `busy prospect ${i}`,
          created_at: new Date(w.clock.now().getTime() - Math.floor(i / 2) * 1000),
        })
        .execute();
    }
    const names = (body: string) => body.match(/Busy Prospect \d\d/g) ?? [];
    const first = await app.inject({ method: 'GET', url: `/p/${token}` });
    expect(names(first.body)).toHaveLength(50);
    const next = /<a href="([^"]+)">Older registrations<\/a>/.exec(first.body)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toBeDefined();
    const second = await app.inject({ method: 'GET', url: next! });
    expect(second.statusCode).toBe(200);
    expect(names(second.body)).toHaveLength(5);
    expect(second.body).not.toContain('Older registrations');
    expect(new Set([...names(first.body), ...names(second.body)]).size).toBe(55);
  });

  it('answers 404 for the confirmation of a registration outside the subtree or of another tenant', async () => {
    const siblings = await w.seed(w.sibling.id, 'Sibling Secret Co', 'siblingsecret.com');
    const response = await app.inject({ method: 'GET', url: `/p/${viewToken}/registrations/${siblings.id}` });
    expect(response.statusCode).toBe(404);
    expect(response.body).not.toContain('Sibling Secret Co');

    const globex = await makeTenant(w.runtime.db, { name: 'Globex' });
    const otherProgram = await makeProgram(w.runtime.db, globex.tenant.id);
    const otherPartner = await makePartner(w.runtime.db, globex.tenant.id);
    await makeEnrolment(w.runtime.db, globex.tenant.id, otherProgram.id, otherPartner.id);
    const foreign = await w.runtime.db.transaction().execute((tx) =>
      submitRegistration(
        tx,
        {
          services: w.runtime.services,
          audit: { tenantId: globex.tenant.id, actorType: 'system', actorId: null, source: 'test' },
        },
        {
          tenantId: globex.tenant.id,
          programId: otherProgram.id,
          partnerId: otherPartner.id,
          source: 'api',
          companyName: 'Globex Secret',
        },
      ),
    );
    const other = await app.inject({ method: 'GET', url: `/p/${viewToken}/registrations/${foreign.id}` });
    expect(other.statusCode).toBe(404);
    expect(other.body).not.toContain('Globex Secret');
    const malformed = await app.inject({ method: 'GET', url: `/p/${viewToken}/registrations/nope` });
    expect(malformed.statusCode).toBe(404);
    expect(malformed.headers['content-type']).toMatch(/^text\/html/);
  });
});
