import type { App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import type { PartnerContactRow, PartnerRow } from '../../src/partners/partner.table.ts';
import type { FormField, ProgramRow } from '../../src/programs/program.table.ts';
import { submitRegistration } from '../../src/registrations/registration.service.ts';
import type { RegistrationRow } from '../../src/registrations/registration.table.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';
import { makeLinkToken } from './portal-session.ts';

export const FIELDS: FormField[] = [
  { key: 'industry', label: 'Industry', type: 'select', required: true, options: ['Retail', 'Banking'] },
  { key: 'seats', label: 'Number of seats', type: 'number', required: false },
  { key: 'kickoff', label: 'Kick-off date', type: 'date', required: false },
  { key: 'champion', label: 'Internal champion', type: 'text', required: true },
];
export const DAY = 24 * 60 * 60 * 1000;

export interface PartnerWorld {
  database: TestDatabase;
  runtime: TestRuntime;
  app: App;
  clock: ManualClock;
  acme: TenantWithKeys;
  /** Auto-approves clear registrations, so a clear one is protected at once. */
  program: ProgramRow;
  /** top → partner → child → grandchild, and sibling beside partner under top. */
  top: PartnerRow;
  partner: PartnerRow;
  child: PartnerRow;
  grandchild: PartnerRow;
  sibling: PartnerRow;
  /** A contact of `partner`, the holder of the links. */
  contact: PartnerContactRow;
  submitToken: string;
  viewToken: string;
  link(
    purpose: 'submit_registration' | 'view_referrals',
    extra?: { expiresAt?: Date; contactId?: string },
  ): Promise<{ id: string; token: string }>;
  /** A registration made through the service directly, as the API would. */
  seed(partnerId: string, companyName: string, website: string): Promise<{ id: string }>;
  registrations(): Promise<RegistrationRow[]>;
  close(): Promise<void>;
}

/** A tenant with a partner hierarchy, all enrolled in one program, at a fixed time. */
export async function setUpPartnerWorld(): Promise<PartnerWorld> {
  const clock = new ManualClock(new Date('2026-12-01T10:00:00Z'));
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, { clock });
  const app = await buildTestApp(runtime);
  const db = runtime.db;
  const acme = await makeTenant(db, { name: 'Acme' });
  const tenantId = acme.tenant.id;
  const program = await makeProgram(db, tenantId, {
    name: 'Resellers 2027',
    formFields: FIELDS,
    autoApprove: { whenClear: true },
  });
  const top = await makePartner(db, tenantId, { name: 'Top Agency' });
  const partner = await makePartner(db, tenantId, { name: 'Northwind Partners', parentId: top.id });
  const child = await makePartner(db, tenantId, { name: 'Child Delivery', parentId: partner.id });
  const grandchild = await makePartner(db, tenantId, { name: 'Grandchild Subco', parentId: child.id });
  const sibling = await makePartner(db, tenantId, { name: 'Sibling Consulting', parentId: top.id });
  for (const p of [top, partner, child, grandchild, sibling])
    await makeEnrolment(db, tenantId, program.id, p.id);
  const contact = await makeContact(db, tenantId, partner.id, { name: 'Robin Seller' });

  const link: PartnerWorld['link'] = (purpose, extra = {}) =>
    makeLinkToken(db, runtime.services.secrets.linkSigningKey, {
      tenantId,
      contactId: extra.contactId ?? contact.id,
      purpose,
      programId: purpose === 'submit_registration' ? program.id : null,
      expiresAt: extra.expiresAt ?? new Date(clock.now().getTime() + 30 * DAY),
    });
  return {
    database,
    runtime,
    app,
    clock,
    acme,
    program,
    top,
    partner,
    child,
    grandchild,
    sibling,
    contact,
    submitToken: (await link('submit_registration')).token,
    viewToken: (await link('view_referrals')).token,
    link,
    seed: (partnerId, companyName, website) =>
      db.transaction().execute((tx) =>
        submitRegistration(
          tx,
          {
            services: runtime.services,
            audit: { tenantId, actorType: 'system', actorId: null, source: 'test' },
          },
          {
            tenantId,
            programId: program.id,
            partnerId,
            source: 'api',
            companyName,
            website,
            customFields: { industry: 'Banking', champion: 'Sam' },
          },
        ),
      ),
    registrations: () =>
      db.selectFrom('registrations').selectAll().where('tenant_id', '=', tenantId).execute(),
    async close() {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
      await database.destroy();
    },
  };
}
