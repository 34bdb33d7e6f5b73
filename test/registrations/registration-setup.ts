import type { App } from '../../src/app.ts';
import type { Db } from '../../src/db/database.ts';
import { insertPartnerLink, linkToken } from '../../src/links/partner-link.service.ts';
import type { LinkPurpose } from '../../src/links/partner-link.table.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import type { NewTenant } from '../../src/tenants/tenant.repository.ts';
import type { StaffRole } from '../../src/tenants/tenant.table.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import type { TestRuntime } from '../helpers/test-runtime.ts';

export { openWorld, type TestWorld as RegistrationWorld } from '../helpers/test-world.ts';

/** A tenant with one active program (USD unless told) that the partners made here are enrolled in. */
export interface ProgramSetup {
  t: TenantWithKeys;
  program: ProgramRow;
  /** A new active partner, enrolled in the program. */
  partner(overrides?: Parameters<typeof makePartner>[2]): Promise<PartnerRow>;
}

export async function setupProgram(
  db: Db,
  options: { tenant?: Partial<NewTenant>; program?: Parameters<typeof makeProgram>[2] } = {},
): Promise<ProgramSetup> {
  const t = await makeTenant(db, options.tenant);
  const program = await makeProgram(db, t.tenant.id, options.program);
  return {
    t,
    program,
    async partner(overrides = {}) {
      const partner = await makePartner(db, t.tenant.id, overrides);
      await makeEnrolment(db, t.tenant.id, program.id, partner.id);
      return partner;
    },
  };
}

/** POST /api/v1/registrations as a staff role. */
export function submit(
  app: App,
  setup: ProgramSetup,
  partnerId: string,
  body: Record<string, unknown>,
  options: { role?: StaffRole; headers?: Record<string, string> } = {},
) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/registrations',
    headers: { ...setup.t.as(options.role ?? 'sales_rep'), ...options.headers },
    payload: { programId: setup.program.id, partnerId, ...body },
  });
}

/** POST /api/v1/registrations/:id/<action> as a staff role. */
export function act(
  app: App,
  setup: ProgramSetup,
  id: string,
  action: string,
  options: { role?: StaffRole; payload?: Record<string, unknown>; headers?: Record<string, string> } = {},
) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/registrations/${id}/${action}`,
    headers: { ...setup.t.as(options.role ?? 'admin'), ...options.headers },
    ...(options.payload ? { payload: options.payload } : {}),
  });
}

/** A contact of `partnerId` and a signed link token for it: `{ authorization: 'Bearer …' }`. */
export async function contactLink(
  runtime: TestRuntime,
  tenantId: string,
  partnerId: string,
  options: { purpose?: LinkPurpose; programId?: string | null } = {},
) {
  const contact = await makeContact(runtime.db, tenantId, partnerId);
  const link = await insertPartnerLink(runtime.db, {
    tenantId,
    contactId: contact.id,
    purpose: options.purpose ?? 'submit_registration',
    programId: options.programId ?? null,
    expiresAt: new Date(runtime.services.clock.now().getTime() + 86_400_000),
  });
  const token = linkToken(runtime.services.secrets.linkSigningKey, link.id);
  return { contact, link, headers: { authorization: `Bearer ${token}` } };
}

/** The domain events written to the outbox for a registration, in order: their `type`s. */
export async function eventTypes(db: Db, registrationId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('outbox')
    .select(['payload'])
    .where('job_name', '=', 'events.deliver')
    .orderBy('id')
    .execute();
  return rows
    .map((row) => row.payload as { type: string; subjectId: string })
    .filter((event) => event.subjectId === registrationId)
    .map((event) => event.type);
}

/** The audit actions recorded for a registration, in order. */
export async function auditActions(db: Db, tenantId: string, registrationId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select('action')
    .where('tenant_id', '=', tenantId)
    .where('subject_type', '=', 'registration')
    .where('subject_id', '=', registrationId)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.action);
}

export async function countRegistrations(db: Db, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('registrations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
