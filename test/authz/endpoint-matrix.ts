import type { LinkPurpose } from '../../src/links/partner-link.table.ts';
import type { StaffRole } from '../../src/tenants/tenant.table.ts';
import { acmeBatch, acmeDueLine, acmePayableLine } from '../payouts/payout-matrix-fixtures.ts';
import { type AuthzWorld, tag } from './authz-world.ts';

/*
 * The authorization decision of every endpoint of /api/v1, in one table: who may call it, and a valid
 * request for it aimed at the first tenant's (Acme's) fixtures. authorization-matrix.test.ts checks
 * each row against the running app, and fails when the app serves a route that has no row here: a
 * new endpoint needs a decision before it ships.
 */

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface MatrixRequest {
  url: string;
  payload?: object | string;
  headers?: Record<string, string>;
}

export interface Endpoint {
  method: Method;
  /** As Fastify prints it: `/api/v1/registrations/:id/approve`. */
  path: string;
  /** Staff roles admitted (admin always is); empty for partner-facing routes. */
  staff: StaffRole[];
  /** Partner link purposes admitted; empty for staff routes. */
  contact: LinkPurpose[];
  /** The status an admitted caller gets for the request below. */
  ok: number;
  /**
   * The same request by the other tenant's admin (or partner contact): `not_found` when it names an
   * Acme id; `own_data` when it names none, so it succeeds on the caller's own tenant and its
   * answer must contain no Acme id.
   */
  otherTenant: 'not_found' | 'own_data';
  /** For `own_data` reads: an Acme id Acme's caller sees in the answer (and the other tenant must not). */
  shows?: (w: AuthzWorld) => string;
  /** A valid request aimed at Acme's fixtures; called once per attempt, so writes get fresh targets. */
  request(w: AuthzWorld): Promise<MatrixRequest>;
}

type OtherTenant = Pick<Endpoint, 'otherTenant' | 'shows'>;
const NOT_FOUND: OtherTenant = { otherTenant: 'not_found' };
const ownData = (shows?: (w: AuthzWorld) => string): OtherTenant => ({
  otherTenant: 'own_data',
  ...(shows ? { shows } : {}),
});

const ALL: StaffRole[] = ['admin', 'program_manager', 'sales_rep'];
const MANAGERS: StaffRole[] = ['admin', 'program_manager'];
const ADMIN: StaffRole[] = ['admin'];
const ANY_LINK: LinkPurpose[] = ['submit_registration', 'view_referrals', 'view_statements'];
const VIEWER_LINK: LinkPurpose[] = ['submit_registration', 'view_referrals'];

const V1 = '/api/v1';
type Build = (w: AuthzWorld) => Promise<MatrixRequest>;
/** Paths and urls below are written without the /api/v1 prefix. */
const withPrefix =
  (build: Build): Build =>
  async (w) => {
    const request = await build(w);
    return { ...request, url: `${V1}${request.url}` };
  };
const entry =
  (caller: Pick<Endpoint, 'staff' | 'contact'>) =>
  (method: Method, path: string, ok: number, other: OtherTenant, build: Build): Endpoint => ({
    method,
    path: `${V1}${path}`,
    ...caller,
    ok,
    ...other,
    request: withPrefix(build),
  });
const staff = (
  method: Method,
  path: string,
  roles: StaffRole[],
  ok: number,
  other: OtherTenant,
  build: Build,
) => entry({ staff: roles, contact: [] })(method, path, ok, other, build);
const partnerFacing = (
  method: Method,
  path: string,
  purposes: LinkPurpose[],
  ok: number,
  other: OtherTenant,
  build: Build,
) => entry({ staff: [], contact: purposes })(method, path, ok, other, build);
const url = (value: string) => async () => ({ url: value });

const prospect = () => ({ companyName: `Q${tag()}`, website: `https://q${tag()}.com` });

/** A registration action, with what it needs to be allowed: a registration in the right state. */
const action = (
  name: string,
  roles: StaffRole[],
  target: (w: AuthzWorld) => Promise<{ id: string }>,
  payload?: object,
) =>
  staff('POST', `/registrations/:id/${name}`, roles, 200, NOT_FOUND, async (w) => ({
    url: `/registrations/${(await target(w)).id}/${name}`,
    ...(payload ? { payload } : {}),
  }));

/** A new active retainer agreement of Acme's `mid` partner, from the world's current month. */
/** A pipeline stage of Acme's stage mapping (the other tenant has none). */
async function acmeStage(w: AuthzWorld): Promise<{ pipelineId: string; stageId: string }> {
  await w.db
    .insertInto('crm_stage_mappings')
    .values({
      tenant_id: w.acme.t.tenant.id,
      pipeline_id: 'default',
      pipeline_label: 'Sales Pipeline',
      stage_id: 'closedwon',
      stage_label: 'Closed Won',
      is_closed: true,
      probability: '1.0',
      derived_category: 'won',
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'pipeline_id', 'stage_id']).doNothing())
    .execute();
  return { pipelineId: 'default', stageId: 'closedwon' };
}

/** A HubSpot connection row for Acme (no tokens: the CRM is never reached). */
async function acmeCrmConnection(w: AuthzWorld): Promise<void> {
  await w.db
    .insertInto('crm_connections')
    .values({
      tenant_id: w.acme.t.tenant.id,
      crm_kind: 'hubspot',
      account_id: `authz-${w.acme.t.tenant.id}`,
    })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
}

async function acmeRetainer(w: AuthzWorld): Promise<string> {
  const row = await w.db
    .insertInto('retainer_agreements')
    .values({
      tenant_id: w.acme.t.tenant.id,
      partner_id: w.acme.mid.id,
      program_id: w.acme.program.id,
      rule_id: null,
      monthly_amount: 150_000n,
      currency: w.acme.program.currency,
      active_from: '2027-03-01',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A new commission plan of Acme's plain program (engine: commission plans). */
async function acmePlan(w: AuthzWorld): Promise<string> {
  const row = await w.db
    .insertInto('commission_plans')
    .values({ tenant_id: w.acme.t.tenant.id, program_id: w.acme.program.id, name: `Plan ${tag()}` })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A new API-fed deal of Acme's plain program (engine: deals). */
async function acmeDeal(w: AuthzWorld): Promise<string> {
  const row = await w.db
    .insertInto('deals')
    .values({
      tenant_id: w.acme.t.tenant.id,
      source: 'api',
      crm_deal_id: `d-${tag()}`,
      program_id: w.acme.program.id,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export const ENDPOINTS: Endpoint[] = [
  // Tenant and API keys
  staff(
    'GET',
    '/tenant',
    ALL,
    200,
    ownData((w) => w.acme.t.tenant.id),
    url('/tenant'),
  ),
  staff('PATCH', '/tenant', ADMIN, 200, ownData(), async () => ({
    url: '/tenant',
    payload: { name: `Tenant ${tag()}` },
  })),
  staff('GET', '/tenant/branding', ALL, 200, ownData(), url('/tenant/branding')),
  staff('PATCH', '/tenant/branding', ADMIN, 200, ownData(), async () => ({
    url: '/tenant/branding',
    payload: { senderName: `Partners ${tag()}` },
  })),
  staff('GET', '/tenant/notifications', ALL, 200, ownData(), url('/tenant/notifications')),
  staff('PATCH', '/tenant/notifications', ADMIN, 200, ownData(), async () => ({
    url: '/tenant/notifications',
    payload: { notificationEmail: `team-${tag()}@acme.example` },
  })),
  staff('GET', '/api-keys', ADMIN, 200, ownData(), url('/api-keys')),
  staff('POST', '/api-keys', ADMIN, 201, ownData(), async () => ({
    url: '/api-keys',
    payload: { name: `key ${tag()}`, role: 'sales_rep' },
  })),
  staff('DELETE', '/api-keys/:id', ADMIN, 200, NOT_FOUND, async (w) => ({
    url: `/api-keys/${await w.freshApiKeyId()}`,
  })),
  staff(
    'GET',
    '/audit-log',
    MANAGERS,
    200,
    ownData((w) => w.acme.registrationOf.mid.id),
    async (w) => ({
      url: `/audit-log?subjectId=${w.acme.registrationOf.mid.id}`,
    }),
  ),

  // Commission plans, exchange rates, deal events (commission engine)
  staff('POST', '/programs/:id/commission-plans', ADMIN, 201, NOT_FOUND, async (w) => ({
    url: `/programs/${w.acme.program.id}/commission-plans`,
    payload: { name: `Plan ${tag()}`, attach: false },
  })),
  staff('GET', '/programs/:id/commission-plans', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/programs/${w.acme.program.id}/commission-plans`,
  })),
  staff('GET', '/commission-plans/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/commission-plans/${await acmePlan(w)}`,
  })),
  staff('POST', '/commission-plans/:id/rules', ADMIN, 201, NOT_FOUND, async (w) => ({
    url: `/commission-plans/${await acmePlan(w)}/rules`,
    payload: {
      ruleKey: 'share',
      type: 'revenue_share',
      config: { rate: '0.1' },
      effectiveFrom: '2026-01-01T00:00:00Z',
      status: 'draft',
    },
  })),
  staff('POST', '/programs/:id/plan-preview', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/programs/${w.acme.program.id}/plan-preview`,
    payload: { from: '2026-01-01', to: '2026-01-31' },
  })),
  staff('GET', '/fx-rates', MANAGERS, 200, ownData(), url('/fx-rates')),
  staff('POST', '/fx-rates', ADMIN, 201, ownData(), async () => ({
    url: '/fx-rates',
    payload: { from: 'EUR', to: 'USD', rate: '1.0835', effectiveOn: '2026-01-01' },
  })),
  staff('POST', '/deal-events', ADMIN, 200, NOT_FOUND, async (w) => ({
    url: '/deal-events',
    payload: {
      sourceEventId: `e-${tag()}`,
      crmDealId: `d-${tag()}`,
      occurredAt: '2026-01-05T10:00:00Z',
      type: 'deal.created',
      changes: { name: 'Deal' },
      programId: w.acme.program.id,
    },
  })),
  staff('POST', '/deal-events/batch', ADMIN, 200, ownData(), async () => ({
    url: '/deal-events/batch',
    payload: {
      events: [
        {
          sourceEventId: `e-${tag()}`,
          crmDealId: `d-${tag()}`,
          occurredAt: '2026-01-05T10:00:00Z',
          type: 'deal.created',
          changes: { name: 'Deal' },
        },
      ],
    },
  })),
  staff('GET', '/deals/:id', ALL, 200, NOT_FOUND, async (w) => ({ url: `/deals/${await acmeDeal(w)}` })),
  // Retainer agreements (commissions)
  staff('GET', '/retainer-agreements', MANAGERS, 200, ownData(), url('/retainer-agreements')),
  staff('POST', '/retainer-agreements', MANAGERS, 201, NOT_FOUND, async (w) => ({
    url: '/retainer-agreements',
    payload: {
      partnerId: w.acme.mid.id,
      programId: w.acme.program.id,
      monthlyAmount: 150_000,
      activeFrom: '2027-04-01',
    },
  })),
  staff('GET', '/retainer-agreements/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/retainer-agreements/${await acmeRetainer(w)}`,
  })),
  staff('POST', '/retainer-agreements/:id/end', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/retainer-agreements/${await acmeRetainer(w)}/end`,
    payload: {},
  })),

  // Programs and enrolments
  staff(
    'GET',
    '/programs',
    ALL,
    200,
    ownData((w) => w.acme.program.id),
    url('/programs?limit=200'),
  ),
  staff('POST', '/programs', MANAGERS, 201, ownData(), async () => ({
    url: '/programs',
    payload: { name: `Program ${tag()}` },
  })),
  staff('GET', '/programs/:id', ALL, 200, NOT_FOUND, async (w) => ({
    url: `/programs/${w.acme.program.id}`,
  })),
  staff('PATCH', '/programs/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/programs/${w.acme.scratchProgram.id}`,
    payload: { name: `Scratch ${tag()}` },
  })),
  staff('POST', '/programs/:id/enrolments', MANAGERS, 201, NOT_FOUND, async (w) => ({
    url: `/programs/${w.acme.scratchProgram.id}/enrolments`,
    payload: { partnerId: (await w.freshPartner()).id },
  })),
  staff('GET', '/programs/:id/enrolments', ALL, 200, NOT_FOUND, async (w) => ({
    url: `/programs/${w.acme.program.id}/enrolments`,
  })),
  staff('PATCH', '/enrolments/:id', MANAGERS, 200, NOT_FOUND, async (w) => {
    const partner = await w.freshPartner();
    const enrolment = await w.db
      .selectFrom('enrolments')
      .select('id')
      .where('partner_id', '=', partner.id)
      .where('program_id', '=', w.acme.program.id)
      .executeTakeFirstOrThrow();
    return { url: `/enrolments/${enrolment.id}`, payload: { status: 'suspended' } };
  }),

  // Partner links
  staff('POST', '/links', MANAGERS, 201, NOT_FOUND, async (w) => ({
    url: '/links',
    payload: { contactId: w.acme.midContact.id, purpose: 'view_referrals' },
  })),
  staff('GET', '/links', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/links?contactId=${w.acme.midContact.id}`,
  })),
  staff('DELETE', '/links/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/links/${await w.freshLink()}`,
  })),

  // Registrations, staff side
  staff(
    'GET',
    '/registrations',
    ALL,
    200,
    ownData((w) => w.acme.registrationOf.mid.id),
    async (w) => ({
      url: `/registrations?partnerId=${w.acme.mid.id}&limit=200`,
    }),
  ),
  staff('POST', '/registrations', ALL, 201, NOT_FOUND, async (w) => ({
    url: '/registrations',
    payload: { programId: w.acme.program.id, partnerId: w.acme.mid.id, ...prospect() },
  })),
  staff('GET', '/registrations/:id', ALL, 200, NOT_FOUND, async (w) => ({
    url: `/registrations/${w.acme.registrationOf.top.id}`,
  })),
  staff('GET', '/registrations/:id/notes', ALL, 200, NOT_FOUND, async (w) => ({
    url: `/registrations/${w.acme.registrationOf.top.id}/notes`,
  })),
  action('approve', MANAGERS, (w) => w.register(w.acme.mid.id, 'submitted')),
  action('reject', MANAGERS, (w) => w.register(w.acme.mid.id, 'submitted'), { reason: 'Not a fit' }),
  action('override', ADMIN, (w) => w.conflicting(), { reason: 'They introduced us first' }),
  action('extension', ALL, (w) => w.register(w.acme.mid.id, 'approved')),
  action('extension/approve', MANAGERS, (w) => w.extensionRequested(w.acme.mid.id)),
  action('extension/reject', MANAGERS, (w) => w.extensionRequested(w.acme.mid.id)),
  action('outcome', ALL, (w) => w.register(w.acme.mid.id, 'approved'), { outcome: 'won' }),

  // Partners, contacts, tiers, import
  staff(
    'GET',
    '/partners',
    ALL,
    200,
    ownData((w) => w.acme.mid.id),
    async (w) => ({
      url: `/partners?parent=${w.acme.top.id}`,
    }),
  ),
  staff('POST', '/partners', MANAGERS, 201, ownData(), async () => ({
    url: '/partners',
    payload: { name: `Partner ${tag()}`, kind: 'referral' },
  })),
  staff('GET', '/partners/:id', ALL, 200, NOT_FOUND, async (w) => ({ url: `/partners/${w.acme.mid.id}` })),
  staff('PATCH', '/partners/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/partners/${w.acme.scratchPartner.id}`,
    payload: { name: `Scratch ${tag()}` },
  })),
  staff('POST', '/partners/:id/move', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/partners/${(await w.freshPartner(w.acme.scratchPartner.id)).id}/move`,
    payload: { parentId: null },
  })),
  staff('GET', '/partners/:id/contacts', ALL, 200, NOT_FOUND, async (w) => ({
    url: `/partners/${w.acme.mid.id}/contacts`,
  })),
  staff('POST', '/partners/:id/contacts', MANAGERS, 201, NOT_FOUND, async (w) => ({
    url: `/partners/${w.acme.scratchPartner.id}/contacts`,
    payload: { name: 'Casey', email: `casey-${tag()}@partner.example` },
  })),
  staff('POST', '/partners/import', MANAGERS, 200, ownData(), async () => {
    const id = tag();
    return {
      url: '/partners/import',
      payload: `external_id,name,kind\nEXT-${id},Imported ${id},referral\n`,
      headers: { 'content-type': 'text/csv' },
    };
  }),
  staff('GET', '/contacts/:id', ALL, 200, NOT_FOUND, async (w) => ({
    url: `/contacts/${w.acme.midContact.id}`,
  })),
  staff('PATCH', '/contacts/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/contacts/${(await w.freshContact()).id}`,
    payload: { name: 'Renamed' },
  })),
  staff('DELETE', '/contacts/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/contacts/${(await w.freshContact()).id}`,
  })),
  staff(
    'GET',
    '/tiers',
    ALL,
    200,
    ownData((w) => w.acme.tier.id),
    url('/tiers'),
  ),
  staff('POST', '/tiers', MANAGERS, 201, ownData(), async () => ({
    url: '/tiers',
    payload: { name: `Tier ${tag()}` },
  })),
  staff('PATCH', '/tiers/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/tiers/${w.acme.tier.id}`,
    payload: { rank: 4 },
  })),

  // CRM connection and stage mapping (Acme gets a HubSpot connection and a stage to act on)
  staff('GET', '/crm/stage-mapping', MANAGERS, 200, ownData(), async (w) => {
    await acmeStage(w);
    return { url: '/crm/stage-mapping' };
  }),
  staff('PATCH', '/crm/stage-mapping', ADMIN, 200, NOT_FOUND, async (w) => ({
    url: '/crm/stage-mapping',
    payload: { stages: [{ ...(await acmeStage(w)), category: 'won' }] },
  })),
  staff('GET', '/crm/salesforce/change-capture', ADMIN, 200, ownData(), async () => ({
    url: '/crm/salesforce/change-capture',
  })),
  staff('PATCH', '/crm/salesforce/change-capture', ADMIN, 200, ownData(), async () => ({
    url: '/crm/salesforce/change-capture',
    payload: { mode: 'polling' },
  })),
  staff('GET', '/crm/connection', MANAGERS, 200, NOT_FOUND, async (w) => {
    await acmeCrmConnection(w);
    return { url: '/crm/connection' };
  }),
  staff('POST', '/crm/fields/check', ADMIN, 200, NOT_FOUND, async (w) => {
    await acmeCrmConnection(w);
    return { url: '/crm/fields/check', payload: {} };
  }),
  staff('POST', '/crm/disconnect', ADMIN, 200, NOT_FOUND, async (w) => {
    await acmeCrmConnection(w);
    // The disconnect marks Acme disconnected: make it active again for the checks that follow.
    await w.db
      .updateTable('tenants')
      .set({ status: 'active' })
      .where('id', '=', w.acme.t.tenant.id)
      .execute();
    return { url: '/crm/disconnect', payload: {} };
  }),

  // Partner-facing: a partner contact's link as the bearer token; Acme's contact is one of `mid`.
  partnerFacing(
    'GET',
    '/portal/me',
    ANY_LINK,
    200,
    ownData((w) => w.acme.midContact.id),
    url('/portal/me'),
  ),
  partnerFacing(
    'GET',
    '/portal/partners',
    ANY_LINK,
    200,
    ownData((w) => w.acme.child.id),
    url('/portal/partners'),
  ),
  partnerFacing('GET', '/portal/partners/:id', ANY_LINK, 200, NOT_FOUND, async (w) => ({
    url: `/portal/partners/${w.acme.child.id}`,
  })),
  partnerFacing(
    'GET',
    '/portal/registrations',
    VIEWER_LINK,
    200,
    ownData((w) => w.acme.registrationOf.child.id),
    async (w) => ({ url: `/portal/registrations?partnerId=${w.acme.child.id}` }),
  ),
  partnerFacing('POST', '/portal/registrations', ['submit_registration'], 201, ownData(), async () => ({
    url: '/portal/registrations',
    payload: prospect(),
  })),
  partnerFacing('GET', '/portal/registrations/:id', VIEWER_LINK, 200, NOT_FOUND, async (w) => ({
    url: `/portal/registrations/${w.acme.registrationOf.grandchild.id}`,
  })),
  partnerFacing('POST', '/portal/registrations/:id/extension', VIEWER_LINK, 200, NOT_FOUND, async (w) => ({
    url: `/portal/registrations/${(await w.register(w.acme.child.id, 'approved')).id}/extension`,
  })),

  // Commission lines, payouts, statements (money: sales reps may look at lines, never move money)
  staff('GET', '/commission-lines', ALL, 200, ownData(), url('/commission-lines?limit=200')),
  staff('POST', '/commission-lines/approve', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: '/commission-lines/approve',
    payload: { lineIds: [await acmeDueLine(w)] },
  })),
  staff('POST', '/payouts', MANAGERS, 201, NOT_FOUND, async (w) => {
    await acmePayableLine(w);
    return { url: '/payouts', payload: { currency: w.acme.program.currency, programId: w.acme.program.id } };
  }),
  staff('GET', '/payouts', MANAGERS, 200, ownData(), url('/payouts')),
  staff('GET', '/payouts/:id', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/payouts/${(await acmeBatch(w, 'draft')).batchId}`,
  })),
  staff('POST', '/payouts/:id/approve', ADMIN, 200, NOT_FOUND, async (w) => ({
    url: `/payouts/${(await acmeBatch(w, 'draft')).batchId}/approve`,
  })),
  staff('POST', '/payouts/:id/export', MANAGERS, 200, NOT_FOUND, async (w) => ({
    url: `/payouts/${(await acmeBatch(w, 'approved')).batchId}/export?part=lines`,
  })),
  staff('POST', '/payouts/:id/items/:payoutId/paid', ADMIN, 200, NOT_FOUND, async (w) => {
    const { batchId, payoutId } = await acmeBatch(w, 'approved');
    return { url: `/payouts/${batchId}/items/${payoutId}/paid`, payload: { reference: `WIRE-${tag()}` } };
  }),
  staff('POST', '/payouts/:id/items/:payoutId/failed', ADMIN, 200, NOT_FOUND, async (w) => {
    const { batchId, payoutId } = await acmeBatch(w, 'approved');
    return { url: `/payouts/${batchId}/items/${payoutId}/failed`, payload: { reason: 'Account closed' } };
  }),
  staff('GET', '/partners/:id/statement', ALL, 200, NOT_FOUND, async (w) => ({
    url: `/partners/${w.acme.mid.id}/statement?from=2020-01-01&to=2030-12-31`,
  })),
  partnerFacing('GET', '/portal/partners/:id/statement', ['view_statements'], 200, NOT_FOUND, async (w) => ({
    url: `/portal/partners/${w.acme.child.id}/statement?from=2020-01-01&to=2030-12-31&format=csv`,
  })),
];

/**
 * Routes outside /api/v1, each with how it is authenticated; authorization-matrix.test.ts checks
 * them with a few requests of their own. /docs and everything below it is public documentation.
 */
export const PAGES: Record<string, string> = {
  'GET /healthz': 'public: liveness',
  'GET /readyz': 'public: readiness',
  'GET /register': 'public: the blank referral form',
  'POST /register': 'public: referral code + CSRF cookie and token',
  'GET /register/done/:id': 'public: only with the HMAC receipt of the redirect',
  'GET /r/:code': 'public: the referral form for a code',
  'GET /p/:token': 'partner link in the path (submit_registration, view_referrals)',
  'POST /p/:token': 'partner link in the path (submit_registration) + CSRF',
  'GET /p/:token/registrations/:id': "partner link in the path; the contact's subtree only",
  'POST /inbound/email': 'bearer INBOUND_EMAIL_SECRET (503 when unset); raw message/rfc822',
  'POST /inbound/mailgun': 'Mailgun HMAC-SHA256 signature over timestamp + token, replay window, token cache',
  'POST /inbound/postmark': 'basic auth POSTMARK_INBOUND_USER / POSTMARK_INBOUND_PASSWORD',
  'GET /u/:token': 'reply token + kind in the path; only shows a confirmation page',
  'POST /u/:token':
    'reply token + kind in the path: one-click unsubscribe of that contact from that kind (RFC 8058)',
  'GET /dev/mail': "loopback socket only, never in production: the embedded transport's .eml files",
  'GET /dev/mail/:file': 'loopback socket only, never in production: one .eml file as text',
  'GET /oauth/hubspot/install':
    'public: redirects to HubSpot with a signed, expiring state (503 until HUBSPOT_CLIENT_ID is set)',
  'GET /oauth/hubspot/callback': 'public: signed state + HubSpot authorization code (503 until configured)',
  'GET /oauth/salesforce/install':
    'public: redirects to Salesforce with a signed, expiring state and a PKCE challenge (503 until SALESFORCE_CLIENT_ID is set)',
  'GET /oauth/salesforce/callback':
    'public: signed state taken once with its PKCE verifier + Salesforce authorization code (503 until configured)',
  'POST /webhooks/hubspot':
    'X-HubSpot-Signature-v3 over the raw body with the client secret, 5-minute window (503 until configured)',
};

export const isDocumentation = (route: string) => / \/docs(\/|$)/.test(route);
