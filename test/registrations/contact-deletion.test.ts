import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContact } from '../factories/partner.factory.ts';
import { openWorld, type RegistrationWorld, setupProgram } from './registration-setup.ts';

describe('deleting the partner contact who submitted a registration', () => {
  let world: RegistrationWorld;
  beforeAll(async () => {
    world = await openWorld();
  });
  afterAll(async () => {
    await world.close();
  });

  it('keeps the registration and forgets only the person', async () => {
    const { db } = world.runtime;
    const setup = await setupProgram(db);
    const partner = await setup.partner();
    const contact = await makeContact(db, setup.t.tenant.id, partner.id);
    const registration = await db
      .insertInto('registrations')
      .values({
        tenant_id: setup.t.tenant.id,
        program_id: setup.program.id,
        partner_id: partner.id,
        contact_id: contact.id,
        source: 'form',
        company_name: 'Initech',
        company_key: 'initech',
      })
      .returning(['id'])
      .executeTakeFirstOrThrow();

    const deleted = await world.app.inject({
      method: 'DELETE',
      url: `/api/v1/contacts/${contact.id}`,
      headers: setup.t.as('admin'),
    });
    expect(deleted.statusCode).toBe(200);

    const after = await db
      .selectFrom('registrations')
      .select(['tenant_id', 'contact_id', 'company_name'])
      .where('id', '=', registration.id)
      .executeTakeFirst();
    expect(after).toEqual({ tenant_id: setup.t.tenant.id, contact_id: null, company_name: 'Initech' });
  });
});
