import type { Db } from '../db/database.ts';
import type { DomainEvent } from '../events/publish-event.ts';
import { type Branding, brandingOf } from './branding.ts';
import { formatDate, formatMoney, stageText } from './email-format.ts';
import type { OutgoingEmail } from './email-sender.ts';
import type { TemplateName } from './email-templates.ts';
import type { TemplateData } from './template-engine.ts';

/**
 * Which emails a domain event makes, to whom, with what data. The `data` each event must carry
 * (extra fields are ignored; amounts are minor units as strings):
 *
 *   registration.submitted | approved | rejected | conflict | expired   (registrations feature)
 *       { registrationId, partnerId, status, checkOutcome, … }
 *   registration.protection_expiring   { registrationId, partnerId, protectedUntil, daysLeft }
 *   partner.weekly_digest              { partnerId }
 *   deal.stage_changed  { dealId, partnerIds: string[] (or partnerId), registrationId?, stage,
 *                         stageLabel?, category?, previousStageLabel?, amount?, currency?, dealName?,
 *                         stageMeaning?, nextStep? }
 *   deal.won            the same, plus commissions: [{ partnerId, amount, currency }]
 *   commission.approved { partnerId, total, currency, dealId?, dealName? }
 *   payout.paid         { partnerId, payoutId, amount, currency, reference?, method? }
 *   crm.message_from_rep { partnerId (or partnerIds), repName, body, dealId?, registrationId?,
 *                          dealName?, contactIds?: string[] (default: every contact of the partner) }
 *
 * Every contact of the partner receives the email (minus unsubscribes, checked when sending).
 */

type Data = Record<string, unknown>;
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== ''
    ? value
    : typeof value === 'number' || typeof value === 'bigint'
      ? String(value)
      : undefined;
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Context {
  db: Db;
  event: DomainEvent;
  tenant: { timeZone: string; branding: Branding };
}

const REGISTRATION_TEMPLATES: Record<string, TemplateName> = {
  'registration.submitted': 'registration-received',
  'registration.approved': 'registration-approved',
  'registration.rejected': 'registration-rejected',
  'registration.conflict': 'registration-conflict',
  'registration.expired': 'protection-expired',
  'registration.protection_expiring': 'protection-expiring',
};

export const EMAIL_EVENT_TYPES = [
  ...Object.keys(REGISTRATION_TEMPLATES),
  'partner.weekly_digest',
  'deal.stage_changed',
  'deal.won',
  'commission.approved',
  'payout.paid',
  'crm.message_from_rep',
];

export async function planEmails(db: Db, event: DomainEvent): Promise<OutgoingEmail[]> {
  const tenant = await db
    .selectFrom('tenants')
    .select(['name', 'settings', 'time_zone'])
    .where('id', '=', event.tenantId)
    .executeTakeFirst();
  if (!tenant) return [];
  const ctx: Context = { db, event, tenant: { timeZone: tenant.time_zone, branding: brandingOf(tenant) } };
  const data = event.data as Data;
  const registrationTemplate = REGISTRATION_TEMPLATES[event.type];
  if (registrationTemplate) return planRegistration(ctx, registrationTemplate, data);
  switch (event.type) {
    case 'partner.weekly_digest':
      return planDigest(ctx, data);
    case 'deal.stage_changed':
    case 'deal.won':
      return planDeal(ctx, data);
    case 'commission.approved':
    case 'payout.paid':
      return planMoney(ctx, data);
    case 'crm.message_from_rep':
      return planRepMessage(ctx, data);
    default:
      return [];
  }
}

async function recipients(ctx: Context, partnerId: string, contactIds: string[] = []) {
  if (!UUID.test(partnerId)) return undefined;
  const partner = await ctx.db
    .selectFrom('partners')
    .select(['id', 'name', 'status'])
    .where('tenant_id', '=', ctx.event.tenantId)
    .where('id', '=', partnerId)
    .executeTakeFirst();
  if (!partner || partner.status === 'archived') return undefined;
  let query = ctx.db
    .selectFrom('partner_contacts')
    .select(['id', 'name', 'email'])
    .where('tenant_id', '=', ctx.event.tenantId)
    .where('partner_id', '=', partnerId);
  const wanted = contactIds.filter((id) => UUID.test(id));
  if (wanted.length > 0) query = query.where('id', 'in', wanted);
  const contacts = await query.orderBy('created_at').orderBy('id').execute();
  return { partner: { id: partner.id, name: partner.name }, contacts };
}

function emailsFor(
  ctx: Context,
  people: NonNullable<Awaited<ReturnType<typeof recipients>>>,
  shape: {
    template: TemplateName;
    thread: string;
    registrationId: string | null;
    dealId: string | null;
    data: TemplateData;
  },
): OutgoingEmail[] {
  return people.contacts.map((contact) => ({
    tenantId: ctx.event.tenantId,
    eventId: ctx.event.id,
    template: shape.template,
    contact,
    partner: people.partner,
    registrationId: shape.registrationId,
    dealId: shape.dealId,
    thread: shape.thread,
    branding: ctx.tenant.branding,
    data: shape.data,
  }));
}

async function registrationData(ctx: Context, registrationId: unknown) {
  const id = str(registrationId);
  if (!id || !UUID.test(id)) return undefined;
  const row = await ctx.db
    .selectFrom('registrations')
    .innerJoin('programs', (join) =>
      join
        .onRef('programs.id', '=', 'registrations.program_id')
        .onRef('programs.tenant_id', '=', 'registrations.tenant_id'),
    )
    .select([
      'registrations.id',
      'registrations.partner_id',
      'registrations.company_name',
      'registrations.domain',
      'registrations.status',
      'registrations.rejection_reason',
      'registrations.protected_until',
      'registrations.source',
      'registrations.contact_id',
      'programs.name as program_name',
      'programs.hold_days',
    ])
    .where('registrations.tenant_id', '=', ctx.event.tenantId)
    .where('registrations.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    row,
    data: {
      company: row.company_name,
      domain: row.domain,
      programName: row.program_name,
      reference: row.id.slice(0, 8).toUpperCase(),
      status: row.status,
      reason: row.rejection_reason,
      protectedUntil: row.protected_until ? formatDate(row.protected_until, ctx.tenant.timeZone) : null,
    } satisfies TemplateData,
  };
}

async function planRegistration(ctx: Context, template: TemplateName, data: Data): Promise<OutgoingEmail[]> {
  // An auto-approved or conflicting registration gets the approval or conflict email, not both.
  if (
    template === 'registration-received' &&
    (data.status === 'approved' || data.checkOutcome === 'conflict_with')
  )
    return [];
  const registration = await registrationData(ctx, data.registrationId ?? ctx.event.subjectId);
  if (!registration) return [];
  const people = await recipients(ctx, registration.row.partner_id);
  if (!people) return [];
  // A contact who registered by email got the result as an answer in their own thread
  // (inbound-register.service.ts); the same news again would be noise.
  const { source, contact_id: sender } = registration.row;
  if (source === 'email' && (template === 'registration-received' || template === 'registration-conflict'))
    people.contacts = people.contacts.filter((c) => c.id !== sender);
  const protectedUntil = str(data.protectedUntil);
  return emailsFor(ctx, people, {
    template,
    thread: 'registration',
    registrationId: registration.row.id,
    dealId: null,
    data: {
      registration: {
        ...registration.data,
        // The event's own date wins: the registration may have moved on since.
        ...(protectedUntil ? { protectedUntil: formatDate(protectedUntil, ctx.tenant.timeZone) } : {}),
      },
      daysLeft: str(data.daysLeft) ?? '7',
      preheader: `${registration.data.company}: ${template.replace('-', ' ')}`,
    },
  });
}

async function planDigest(ctx: Context, data: Data): Promise<OutgoingEmail[]> {
  const people = await recipients(ctx, str(data.partnerId) ?? '');
  if (!people) return [];
  const open = await ctx.db
    .selectFrom('registrations')
    .select(['company_name', 'status', 'protected_until'])
    .where('tenant_id', '=', ctx.event.tenantId)
    .where('partner_id', '=', people.partner.id)
    .where('status', 'in', ['submitted', 'approved'])
    .orderBy('created_at', 'desc')
    .limit(100)
    .execute();
  if (open.length === 0) return [];
  return emailsFor(ctx, people, {
    template: 'weekly-digest',
    thread: 'digest',
    registrationId: null,
    dealId: null,
    data: {
      digest: {
        count: open.length,
        referrals: open.map((r) => ({
          company: r.company_name,
          status: r.status,
          protectedUntil: r.protected_until ? formatDate(r.protected_until, ctx.tenant.timeZone) : '',
        })),
      },
      preheader: `${open.length} open referrals`,
    },
  });
}

async function dealFacts(ctx: Context, data: Data) {
  const dealId = str(data.dealId) ?? (ctx.event.type.startsWith('deal.') ? ctx.event.subjectId : '');
  const deal = UUID.test(dealId)
    ? await ctx.db
        .selectFrom('deals')
        .select(['id', 'name', 'registration_id', 'program_id'])
        .where('tenant_id', '=', ctx.event.tenantId)
        .where('id', '=', dealId)
        .executeTakeFirst()
    : undefined;
  const registration = await registrationData(ctx, data.registrationId ?? deal?.registration_id);
  return {
    dealId: UUID.test(dealId) ? dealId : null,
    registration,
    name: str(data.dealName) ?? deal?.name ?? registration?.data.company ?? 'your deal',
  };
}

async function planDeal(ctx: Context, data: Data): Promise<OutgoingEmail[]> {
  // Reaching won sends the deal-won email (with the commission) instead of a stage email.
  if (ctx.event.type === 'deal.stage_changed' && data.category === 'won' && data.previousCategory !== 'won')
    return [];
  const facts = await dealFacts(ctx, data);
  const partnerIds = [
    ...new Set([
      ...strings(data.partnerIds),
      ...(str(data.partnerId) ? [str(data.partnerId) as string] : []),
    ]),
  ];
  const won = ctx.event.type === 'deal.won';
  const commissions = Array.isArray(data.commissions) ? (data.commissions as Data[]) : [];
  const text = stageText(str(data.stage), str(data.category));
  const currency = str(data.currency);
  const amount = str(data.amount);
  const emails: OutgoingEmail[] = [];
  for (const partnerId of partnerIds) {
    const people = await recipients(ctx, partnerId);
    if (!people) continue;
    const owed = commissions.filter((c) => c.partnerId === partnerId && str(c.amount) && str(c.currency));
    emails.push(
      ...emailsFor(ctx, people, {
        template: won ? 'deal-won' : 'deal-stage-changed',
        thread: 'deal',
        registrationId: facts.registration?.row.id ?? null,
        dealId: facts.dealId,
        data: {
          deal: {
            name: facts.name,
            stage: str(data.stageLabel) ?? str(data.stage) ?? 'a new stage',
            previousStage: str(data.previousStageLabel) ?? null,
            stageMeaning: str(data.stageMeaning) ?? text.meaning,
            nextStep: str(data.nextStep) ?? text.next,
            amount: amount && currency ? formatMoney(amount, currency) : null,
          },
          commission: {
            amount:
              owed.length > 0
                ? owed.map((c) => formatMoney(str(c.amount) as string, str(c.currency) as string)).join(' + ')
                : 'to be calculated',
            holdDays: facts.registration?.row.hold_days ?? 30,
          },
          preheader: won
            ? `${facts.name} is won`
            : `${facts.name}: ${str(data.stageLabel) ?? str(data.stage) ?? ''}`,
        },
      }),
    );
  }
  return emails;
}

async function planMoney(ctx: Context, data: Data): Promise<OutgoingEmail[]> {
  const people = await recipients(ctx, str(data.partnerId) ?? '');
  const currency = str(data.currency);
  if (!people || !currency) return [];
  const payout = ctx.event.type === 'payout.paid';
  const amount = formatMoney(str(payout ? data.amount : (data.total ?? data.amount)) ?? '0', currency);
  return emailsFor(ctx, people, {
    template: payout ? 'payout-sent' : 'commission-approved',
    thread: 'payouts',
    registrationId: null,
    dealId: null,
    data: {
      commission: { amount },
      payout: {
        amount,
        reference: str(data.reference) ?? null,
        method: str(data.method) ?? null,
        paidOn: formatDate(ctx.event.occurredAt, ctx.tenant.timeZone),
      },
      deal: { name: str(data.dealName) ?? null },
      preheader: payout ? `Payout of ${amount}` : `Commission of ${amount} approved`,
    },
  });
}

async function planRepMessage(ctx: Context, data: Data): Promise<OutgoingEmail[]> {
  const body = str(data.body);
  if (!body) return [];
  const facts = data.dealId || data.registrationId ? await dealFacts(ctx, data) : undefined;
  const partnerIds = [
    ...new Set([
      ...strings(data.partnerIds),
      ...(str(data.partnerId) ? [str(data.partnerId) as string] : []),
    ]),
  ];
  const emails: OutgoingEmail[] = [];
  for (const partnerId of partnerIds) {
    const people = await recipients(ctx, partnerId, strings(data.contactIds));
    if (!people) continue;
    emails.push(
      ...emailsFor(ctx, people, {
        template: 'rep-message',
        thread: facts?.dealId ? 'deal' : 'registration',
        registrationId: facts?.registration?.row.id ?? null,
        dealId: facts?.dealId ?? null,
        data: {
          rep: { name: str(data.repName) ?? 'Your sales rep' },
          message: { body },
          deal: { name: str(data.dealName) ?? (facts ? facts.name : null) },
          preheader: body.slice(0, 90),
        },
      }),
    );
  }
  return emails;
}
