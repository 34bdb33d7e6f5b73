import { sql } from 'kysely';
import { systemClock } from '../clock.ts';
import { settleDeal } from '../commissions/settle-deal.ts';
import type { DbOrTx, Tx } from '../db/database.ts';
import { byCodeUnits } from '../db/lock-order.ts';
import { AppError } from '../errors/app-error.ts';
import type { Services } from '../services.ts';
import type { DealAttributionRow, DealRow, DealSource } from './deal.table.ts';

export function findDealByCrmId(
  db: DbOrTx,
  tenantId: string,
  source: DealSource,
  crmDealId: string,
): Promise<DealRow | undefined> {
  return db
    .selectFrom('deals')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('source', '=', source)
    .where('crm_deal_id', '=', crmDealId)
    .executeTakeFirst();
}

export function findDeal(db: DbOrTx, tenantId: string, id: string): Promise<DealRow | undefined> {
  return db
    .selectFrom('deals')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/**
 * The deal row of a CRM deal, created on first sight, locked for the rest of the transaction: every
 * change of one deal (and the settling of its commissions) queues behind this lock.
 */
export async function lockOrCreateDeal(
  tx: Tx,
  tenantId: string,
  source: DealSource,
  crmDealId: string,
  create = true,
): Promise<DealRow | undefined> {
  const existing = await tx
    .selectFrom('deals')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('source', '=', source)
    .where('crm_deal_id', '=', crmDealId)
    .forUpdate()
    .executeTakeFirst();
  if (existing || !create) return existing;
  const inserted = await tx
    .insertInto('deals')
    .values({ tenant_id: tenantId, source, crm_deal_id: crmDealId })
    .onConflict((oc) => oc.columns(['tenant_id', 'source', 'crm_deal_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  return inserted ?? lockOrCreateDeal(tx, tenantId, source, crmDealId, false);
}

/**
 * Creates the deals that do not exist yet in one statement, in (source, CRM id) order: every
 * transaction creating several deals does it in this order, so two creating the same ones queue on
 * the first instead of deadlocking. A deal created meanwhile by another transaction is skipped
 * once that transaction commits. Locks no existing deal.
 */
export async function createDeals(
  tx: Tx,
  tenantId: string,
  deals: readonly { source: DealSource; crmDealId: string }[],
): Promise<void> {
  const ordered = [...new Map(deals.map((d) => [`${d.source}\u0000${d.crmDealId}`, d])).entries()]
    .sort(([a], [b]) => byCodeUnits(a, b))
    .map(([, deal]) => deal);
  if (ordered.length === 0) return;
  await sql`
    insert into deals (tenant_id, source, crm_deal_id)
    select ${tenantId}::uuid, v.source, v.crm_deal_id
    from unnest(${ordered.map((d) => d.source)}::text[], ${ordered.map((d) => d.crmDealId)}::text[])
      with ordinality as v(source, crm_deal_id, n)
    order by v.n
    on conflict (tenant_id, source, crm_deal_id) do nothing`.execute(tx);
}

export function dealAttributions(
  db: DbOrTx,
  tenantId: string,
  dealId: string,
): Promise<DealAttributionRow[]> {
  return db
    .selectFrom('deal_attributions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('deal_id', '=', dealId)
    .orderBy('position')
    .orderBy('created_at')
    .execute();
}

export interface AttributionInput {
  partnerId: string;
  role?: string;
  /** Exact decimal as text or a number: the partner's relative weight in a split. */
  splitWeight?: string | number;
}

/** Replaces the deal's attributions (listing order = position); true when anything changed. */
export async function setAttributions(
  tx: Tx,
  deal: DealRow,
  attributions: AttributionInput[],
): Promise<boolean> {
  const wanted = attributions.map((a, position) => ({
    partner_id: a.partnerId,
    role: a.role ?? 'referral',
    split_weight: String(a.splitWeight ?? 1),
    position,
  }));
  if (new Set(wanted.map((w) => w.partner_id)).size !== wanted.length)
    throw new AppError('validation_failed', 'A partner is attributed twice', {
      fields: [{ field: 'attributions', message: 'must name each partner once' }],
    });
  const current = await dealAttributions(tx, deal.tenant_id, deal.id);
  const same =
    current.length === wanted.length &&
    current.every(
      (c, i) =>
        c.partner_id === wanted[i]!.partner_id &&
        c.role === wanted[i]!.role &&
        Number(c.split_weight) === Number(wanted[i]!.split_weight) &&
        c.position === i,
    );
  if (same) return false;
  if (wanted.length > 0) {
    const known = await tx
      .selectFrom('partners')
      .select('id')
      .where('tenant_id', '=', deal.tenant_id)
      .where(
        'id',
        'in',
        wanted.map((w) => w.partner_id),
      )
      .execute();
    if (known.length !== wanted.length) throw new AppError('not_found', 'Partner not found');
  }
  await tx
    .deleteFrom('deal_attributions')
    .where('tenant_id', '=', deal.tenant_id)
    .where('deal_id', '=', deal.id)
    .execute();
  if (wanted.length > 0)
    await tx
      .insertInto('deal_attributions')
      .values(wanted.map((w) => ({ ...w, tenant_id: deal.tenant_id, deal_id: deal.id })))
      .execute();
  return true;
}

/** Bumps the deal's version after a change outside its events (attribution, program), and settles. */
export async function resettleDeal(
  tx: Tx,
  services: Pick<Services, 'clock'>,
  deal: DealRow,
  reason: string,
): Promise<DealRow> {
  const bumped = await tx
    .updateTable('deals')
    .set((eb) => ({ version: eb('version', '+', 1n), updated_at: services.clock.now() }))
    .where('tenant_id', '=', deal.tenant_id)
    .where('id', '=', deal.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await settleDeal(tx, services as Services, bumped, {
    version: BigInt(bumped.version),
    occurredAt: services.clock.now(),
    reason,
  });
  return bumped;
}

export interface LinkInput {
  tenantId: string;
  source: DealSource;
  crmDealId: string;
  registrationId: string;
  name?: string | null;
  amount?: bigint | null;
  currency?: string | null;
  pipeline?: string | null;
  stage?: string | null;
}

/**
 * The deal of a CRM deal created or linked from an approved registration: its program and
 * registration, and the registration's partner credited first (role 'referral'). Fields the deal's
 * own events already set are left alone. Idempotent; a change to a won deal settles it again.
 */
export async function linkDealToRegistration(
  tx: Tx,
  input: LinkInput,
  services: Pick<Services, 'clock'> = { clock: systemClock },
): Promise<DealRow> {
  const registration = await tx
    .selectFrom('registrations')
    .select(['id', 'program_id', 'partner_id'])
    .where('tenant_id', '=', input.tenantId)
    .where('id', '=', input.registrationId)
    .executeTakeFirst();
  if (!registration) throw new AppError('not_found', 'Registration not found');
  const deal = (await lockOrCreateDeal(tx, input.tenantId, input.source, input.crmDealId))!;
  const patch: Record<string, unknown> = {};
  if (deal.registration_id !== registration.id) patch.registration_id = registration.id;
  if (deal.program_id !== registration.program_id) patch.program_id = registration.program_id;
  if (deal.name == null && input.name) patch.name = input.name;
  if (deal.amount == null && input.amount != null && input.currency) {
    patch.amount = input.amount;
    patch.currency = input.currency;
  }
  if (deal.pipeline == null && input.pipeline) patch.pipeline = input.pipeline;
  if (deal.stage == null && input.stage) patch.stage = input.stage;
  let row = deal;
  if (Object.keys(patch).length > 0) {
    row = await tx
      .updateTable('deals')
      .set({ ...patch, updated_at: services.clock.now() })
      .where('tenant_id', '=', deal.tenant_id)
      .where('id', '=', deal.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  const current = await dealAttributions(tx, deal.tenant_id, deal.id);
  let attributed = false;
  if (!current.some((a) => a.partner_id === registration.partner_id)) {
    await tx
      .updateTable('deal_attributions')
      .set((eb) => ({ position: eb('position', '+', 1) }))
      .where('tenant_id', '=', deal.tenant_id)
      .where('deal_id', '=', deal.id)
      .execute();
    await tx
      .insertInto('deal_attributions')
      .values({
        tenant_id: deal.tenant_id,
        deal_id: deal.id,
        partner_id: registration.partner_id,
        role: 'referral',
        position: 0,
      })
      .execute();
    attributed = true;
  }
  if ((attributed || patch.program_id !== undefined) && row.stage_category === 'won')
    row = await resettleDeal(tx, services, row, 'registration linked');
  return row;
}
