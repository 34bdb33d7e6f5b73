import { randomBytes } from 'node:crypto';
import type { App } from '../../src/app.ts';
import type { AuditContext } from '../../src/audit/audit.repository.ts';
import { ManualClock } from '../../src/clock.ts';
import type { Db } from '../../src/db/database.ts';
import { insertPartnerLink, linkToken, revokePartnerLink } from '../../src/links/partner-link.service.ts';
import { LINK_PURPOSES, type LinkPurpose } from '../../src/links/partner-link.table.ts';
import type { PartnerContactRow, PartnerRow, TierRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import { requestExtension, submitRegistration } from '../../src/registrations/registration.service.ts';
import type { RegistrationRow } from '../../src/registrations/registration.table.ts';
import { createApiKey, revokeApiKey } from '../../src/tenants/api-key.service.ts';
import { makeContact, makePartner, makeTier } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** A short token that makes names, domains and emails unique across the whole file. */
export const tag = () => randomBytes(4).toString('hex');

export type Bearer = { authorization: string };
const bearer = (token: string): Bearer => ({ authorization: `Bearer ${token}` });

/** One partner link per purpose: working, expired and revoked. */
export interface LinkSet {
  valid: Record<LinkPurpose, Bearer>;
  expired: Record<LinkPurpose, Bearer>;
  revoked: Record<LinkPurpose, Bearer>;
}

/** The first tenant: what every matrix request points at. */
export interface Acme {
  t: TenantWithKeys;
  /** An admin key that has been revoked. */
  revokedAdmin: Bearer;
  /** Takes registrations that stay `submitted`. */
  program: ProgramRow;
  /** Approves clear registrations on submission, so they are protected at once. */
  autoProgram: ProgramRow;
  /** Renamed by the PATCH checks; nothing depends on its name. */
  scratchProgram: ProgramRow;
  tier: TierRow;
  /** top → mid → child → grandchild; sibling (→ siblingChild) beside mid under top. */
  top: PartnerRow;
  mid: PartnerRow;
  child: PartnerRow;
  grandchild: PartnerRow;
  sibling: PartnerRow;
  siblingChild: PartnerRow;
  /** Renamed and given contacts by the checks. */
  scratchPartner: PartnerRow;
  /** A contact of `mid`, the holder of the partner links. */
  midContact: PartnerContactRow;
  links: LinkSet;
  /** An approved registration of each partner of the hierarchy (auto program). */
  registrationOf: Record<
    'top' | 'mid' | 'child' | 'grandchild' | 'sibling' | 'siblingChild',
    RegistrationRow
  >;
}

/** The second tenant: its admin (and its contact) aim the same requests at Acme's ids. */
export interface Globex {
  t: TenantWithKeys;
  program: ProgramRow;
  partner: PartnerRow;
  links: LinkSet;
}

export interface AuthzWorld {
  database: TestDatabase;
  runtime: TestRuntime;
  db: Db;
  app: App;
  clock: ManualClock;
  acme: Acme;
  globex: Globex;
  /** A new registration of Acme: `submitted` in the plain program, `approved` in the auto one. */
  register(partnerId: string, state: 'submitted' | 'approved'): Promise<RegistrationRow>;
  /** A submitted Acme registration in conflict with another partner's claim on the same domain. */
  conflicting(): Promise<RegistrationRow>;
  /** An approved Acme registration of `partnerId` whose extension has been requested. */
  extensionRequested(partnerId: string): Promise<RegistrationRow>;
  /** A new active Acme partner, enrolled in both programs; a top-level one unless told. */
  freshPartner(parentId?: string): Promise<PartnerRow>;
  freshContact(partnerId?: string): Promise<PartnerContactRow>;
  /** A new working link of an Acme contact (for revoking). */
  freshLink(): Promise<string>;
  /** A new sales rep key of Acme (for revoking). */
  freshApiKeyId(): Promise<string>;
  /** Every id Acme owns, to check that another tenant's answer contains none of them. */
  acmeIds(): Promise<string[]>;
  acmeAuditCount(): Promise<number>;
  close(): Promise<void>;
}

async function linkSet(
  db: Db,
  key: Buffer,
  clock: ManualClock,
  tenantId: string,
  contactId: string,
  submitProgramId: string,
): Promise<LinkSet> {
  const set: LinkSet = { valid: {}, expired: {}, revoked: {} } as LinkSet;
  const now = clock.now().getTime();
  for (const purpose of LINK_PURPOSES) {
    const make = async (expiresAt: number) => {
      const row = await insertPartnerLink(db, {
        tenantId,
        contactId,
        purpose,
        // A submit_registration link always names its program (the API insists on it).
        programId: purpose === 'submit_registration' ? submitProgramId : null,
        expiresAt: new Date(expiresAt),
      });
      return { row, headers: bearer(linkToken(key, row.id)) };
    };
    set.valid[purpose] = (await make(now + 30 * DAY_MS)).headers;
    set.expired[purpose] = (await make(now - 1)).headers;
    const revoked = await make(now + 30 * DAY_MS);
    await revokePartnerLink(db, tenantId, revoked.row.id);
    set.revoked[purpose] = revoked.headers;
  }
  return set;
}

/** Two tenants; the first with a partner hierarchy, programs, links and registrations. */
export async function openAuthzWorld(): Promise<AuthzWorld> {
  const clock = new ManualClock(new Date('2027-03-01T10:00:00.000Z'));
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, { clock });
  const app = await buildTestApp(runtime);
  const db = runtime.db;
  const key = runtime.services.secrets.linkSigningKey;

  const t = await makeTenant(db, { name: 'Acme' });
  const tenantId = t.tenant.id;
  const revokedKey = await createApiKey(db, { tenantId, role: 'admin', name: 'revoked admin' });
  await revokeApiKey(db, tenantId, revokedKey.row.id);
  const program = await makeProgram(db, tenantId, { name: 'Resellers' });
  const autoProgram = await makeProgram(db, tenantId, {
    name: 'Fast track',
    autoApprove: { whenClear: true },
  });
  const scratchProgram = await makeProgram(db, tenantId, { name: 'Scratch' });
  const tier = await makeTier(db, tenantId, 'Gold', 3);

  const freshPartner = async (parentId?: string) => {
    const partner = await makePartner(db, tenantId, { name: `Partner ${tag()}`, parentId: parentId ?? null });
    await makeEnrolment(db, tenantId, program.id, partner.id);
    await makeEnrolment(db, tenantId, autoProgram.id, partner.id);
    return partner;
  };
  const top = await freshPartner();
  const mid = await freshPartner(top.id);
  const child = await freshPartner(mid.id);
  const grandchild = await freshPartner(child.id);
  const sibling = await freshPartner(top.id);
  const siblingChild = await freshPartner(sibling.id);
  const scratchPartner = await freshPartner();
  const midContact = await makeContact(db, tenantId, mid.id, { name: 'Mia Mid' });

  const audit: AuditContext = { tenantId, actorType: 'system', actorId: null, source: 'test' };
  const ctx = { services: runtime.services, audit };
  const submit = (partnerId: string, programId: string, website = `https://q${tag()}.com`) =>
    db.transaction().execute((tx) =>
      submitRegistration(tx, ctx, {
        tenantId,
        programId,
        partnerId,
        source: 'api',
        // One random word: no two fixtures share a word of their company key, so none conflict.
        companyName: `Q${tag()}`,
        website,
      }),
    );
  const register = (partnerId: string, state: 'submitted' | 'approved') =>
    submit(partnerId, state === 'approved' ? autoProgram.id : program.id);

  const registrationOf = {} as Acme['registrationOf'];
  for (const [name, partner] of Object.entries({ top, mid, child, grandchild, sibling, siblingChild })) {
    registrationOf[name as keyof Acme['registrationOf']] = await register(partner.id, 'approved');
  }

  const g = await makeTenant(db, { name: 'Globex' });
  const gProgram = await makeProgram(db, g.tenant.id, { name: 'Globex partners' });
  const gPartner = await makePartner(db, g.tenant.id, { name: 'Globex reseller' });
  await makeEnrolment(db, g.tenant.id, gProgram.id, gPartner.id);
  const gContact = await makeContact(db, g.tenant.id, gPartner.id);

  const acme: Acme = {
    t,
    revokedAdmin: bearer(revokedKey.key),
    program,
    autoProgram,
    scratchProgram,
    tier,
    top,
    mid,
    child,
    grandchild,
    sibling,
    siblingChild,
    scratchPartner,
    midContact,
    links: await linkSet(db, key, clock, tenantId, midContact.id, program.id),
    registrationOf,
  };
  const globex: Globex = {
    t: g,
    program: gProgram,
    partner: gPartner,
    links: await linkSet(db, key, clock, g.tenant.id, gContact.id, gProgram.id),
  };

  return {
    database,
    runtime,
    db,
    app,
    clock,
    acme,
    globex,
    register,
    async conflicting() {
      const website = `https://q${tag()}.com`;
      await submit(top.id, program.id, website);
      return submit(sibling.id, program.id, website);
    },
    async extensionRequested(partnerId) {
      const row = await register(partnerId, 'approved');
      return db
        .transaction()
        .execute((tx) => requestExtension(tx, ctx, { tenantId, registrationId: row.id }));
    },
    freshPartner,
    freshContact: (partnerId = scratchPartner.id) =>
      makeContact(db, tenantId, partnerId, { email: `c-${tag()}@partner.example` }),
    async freshLink() {
      const contact = await makeContact(db, tenantId, scratchPartner.id);
      const row = await insertPartnerLink(db, {
        tenantId,
        contactId: contact.id,
        purpose: 'view_referrals',
        expiresAt: new Date(clock.now().getTime() + DAY_MS),
      });
      return row.id;
    },
    async freshApiKeyId() {
      return (await createApiKey(db, { tenantId, role: 'sales_rep', name: `k ${tag()}` })).row.id;
    },
    async acmeIds() {
      const ids: string[] = [tenantId];
      for (const table of [
        'api_keys',
        'tiers',
        'partners',
        'partner_contacts',
        'programs',
        'enrolments',
        'partner_links',
        'registrations',
      ] as const) {
        const rows = await db.selectFrom(table).select('id').where('tenant_id', '=', tenantId).execute();
        ids.push(...rows.map((row) => String(row.id)));
      }
      return ids;
    },
    async acmeAuditCount() {
      const row = await db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async close() {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
      await database.destroy();
    },
  };
}
