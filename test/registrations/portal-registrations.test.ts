import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import { makeProgram } from '../factories/program.factory.ts';
import {
  act,
  contactLink,
  eventTypes,
  openWorld,
  type ProgramSetup,
  type RegistrationWorld,
  setupProgram,
  submit,
} from './registration-setup.ts';

describe('partner contacts and their registrations', () => {
  let world: RegistrationWorld;
  let setup: ProgramSetup;
  // lead → delivery → sub, and lead → sibling; outsider has no relation.
  let lead: PartnerRow;
  let delivery: PartnerRow;
  let sub: PartnerRow;
  let sibling: PartnerRow;
  let outsider: PartnerRow;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    world = await openWorld();
    setup = await setupProgram(world.runtime.db);
    lead = await setup.partner({ name: 'Lead Agency' });
    delivery = await setup.partner({ name: 'Delivery', parentId: lead.id });
    sub = await setup.partner({ name: 'Sub-contractor', parentId: delivery.id });
    sibling = await setup.partner({ name: 'Sibling', parentId: lead.id });
    outsider = await setup.partner({ name: 'Outsider' });
    for (const [name, partner] of Object.entries({ lead, delivery, sub, sibling, outsider })) {
      const response = await submit(world.app, setup, partner.id, { companyName: `Prospect of ${name}` });
      expect(response.statusCode, response.body).toBe(201);
      ids[name] = response.json().id;
    }
  });
  afterAll(async () => {
    await world?.close();
  });

  const portal = (method: 'GET' | 'POST', url: string, headers: object, payload?: object) =>
    world.app.inject({
      method,
      url: `/api/v1/portal${url}`,
      headers: headers as Record<string, string>,
      payload,
    });

  it("shows a contact its partner's registrations and those below it, never above or beside", async () => {
    const { headers } = await contactLink(world.runtime, setup.t.tenant.id, delivery.id, {
      purpose: 'view_referrals',
    });
    const list = await portal('GET', '/registrations', headers);
    expect(list.statusCode, list.body).toBe(200);
    const seen = list
      .json()
      .items.map((r: { id: string }) => r.id)
      .sort();
    expect(seen).toEqual([ids.delivery, ids.sub].sort());

    expect((await portal('GET', `/registrations/${ids.sub}`, headers)).statusCode).toBe(200);
    for (const hidden of ['lead', 'sibling', 'outsider']) {
      const one = await portal('GET', `/registrations/${ids[hidden]}`, headers);
      expect(one.statusCode, hidden).toBe(404);
      expect(one.json().error.code).toBe('not_found');
    }
    // Filtering by a partner outside the subtree finds nothing rather than leaking.
    const filtered = await portal('GET', `/registrations?partnerId=${lead.id}`, headers);
    expect(filtered.json().items).toEqual([]);

    const leadLink = await contactLink(world.runtime, setup.t.tenant.id, lead.id, {
      purpose: 'view_referrals',
    });
    const all = (await portal('GET', '/registrations', leadLink.headers)).json().items;
    expect(all).toHaveLength(4);
  });

  it('hides the internals of the conflict check from partners', async () => {
    const { headers } = await contactLink(world.runtime, setup.t.tenant.id, delivery.id, {
      purpose: 'view_referrals',
    });
    const one = (await portal('GET', `/registrations/${ids.delivery}`, headers)).json();
    expect(one).toMatchObject({ id: ids.delivery, checkOutcome: 'clear', status: 'submitted' });
    for (const key of [
      'relatedRegistrationId',
      'checkDetails',
      'overrideReason',
      'approvedBy',
      'companyKey',
    ]) {
      expect(one).not.toHaveProperty(key);
    }
  });

  it("submits for the contact's own partner and the link's program, recording the contact", async () => {
    const { headers, contact } = await contactLink(world.runtime, setup.t.tenant.id, sub.id, {
      programId: setup.program.id,
    });
    const created = await portal('POST', '/registrations', headers, {
      companyName: 'Hooli',
      website: 'https://hooli.xyz',
      estimatedValue: 250_000,
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      partnerId: sub.id,
      programId: setup.program.id,
      contactId: contact.id,
      source: 'form',
      domain: 'hooli.xyz',
      estimatedValue: 250_000,
      currency: 'USD',
    });
    const audit = await world.runtime.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', created.json().id)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({
      action: 'registration.submitted',
      actor_type: 'contact',
      actor_id: contact.id,
    });
    expect(await eventTypes(world.runtime.db, created.json().id)).toEqual(['registration.submitted']);

    const invalid = await portal('POST', '/registrations', headers, { companyName: '', website: 'nope' });
    expect(invalid.statusCode).toBe(400);
    expect(
      invalid
        .json()
        .error.details.fields.map((f: { field: string }) => f.field)
        .sort(),
    ).toEqual(['body.companyName', 'body.website']);
  });

  it('refuses submission without a link, with a link for viewing only, or for another program', async () => {
    expect((await portal('POST', '/registrations', {}, { companyName: 'X' })).statusCode).toBe(401);
    const viewing = await contactLink(world.runtime, setup.t.tenant.id, delivery.id, {
      purpose: 'view_referrals',
    });
    const wrong = await portal('POST', '/registrations', viewing.headers, { companyName: 'X' });
    expect(wrong.statusCode).toBe(403);

    const elsewhere = await makeProgram(world.runtime.db, setup.t.tenant.id);
    const link = await contactLink(world.runtime, setup.t.tenant.id, delivery.id, {
      programId: setup.program.id,
    });
    const other = await portal('POST', '/registrations', link.headers, {
      companyName: 'X',
      programId: elsewhere.id,
    });
    expect(other.statusCode).toBe(403);

    const noProgram = await contactLink(world.runtime, setup.t.tenant.id, delivery.id);
    const missing = await portal('POST', '/registrations', noProgram.headers, { companyName: 'X' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details.fields).toEqual([
      { field: 'body.programId', message: 'is required' },
    ]);
    const chosen = await portal('POST', '/registrations', noProgram.headers, {
      companyName: 'Chosen Program Co',
      programId: setup.program.id,
    });
    expect(chosen.statusCode, chosen.body).toBe(201);
  });

  it('lets a contact ask once for an extension of a registration in its subtree', async () => {
    await act(world.app, setup, ids.sub!, 'approve');
    await act(world.app, setup, ids.lead!, 'approve');
    const { headers } = await contactLink(world.runtime, setup.t.tenant.id, delivery.id, {
      purpose: 'view_referrals',
    });
    const asked = await portal('POST', `/registrations/${ids.sub}/extension`, headers);
    expect(asked.statusCode, asked.body).toBe(200);
    expect(asked.json().extensionStatus).toBe('requested');
    const again = await portal('POST', `/registrations/${ids.sub}/extension`, headers);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('invalid_transition');
    const above = await portal('POST', `/registrations/${ids.lead}/extension`, headers);
    expect(above.statusCode).toBe(404);
    const staffView = await world.app.inject({
      method: 'GET',
      url: `/api/v1/registrations/${ids.lead}`,
      headers: setup.t.as('admin'),
    });
    expect(staffView.json().extensionStatus).toBe('none');
  });

  it("answers 404 for another tenant's registration", async () => {
    const other = await setupProgram(world.runtime.db);
    const theirs = await submit(world.app, other, (await other.partner()).id, { companyName: 'Foreign Co' });
    const { headers } = await contactLink(world.runtime, setup.t.tenant.id, lead.id, {
      purpose: 'view_referrals',
    });
    expect((await portal('GET', `/registrations/${theirs.json().id}`, headers)).statusCode).toBe(404);
    expect((await portal('POST', `/registrations/${theirs.json().id}/extension`, headers)).statusCode).toBe(
      404,
    );
  });
});
