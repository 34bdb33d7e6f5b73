import { ManualClock } from '../../src/clock.ts';
import type { CommissionLineRow } from '../../src/commissions/commission-line.table.ts';
import { addRuleVersion, createPlan } from '../../src/commissions/commission-plan.repository.ts';
import type {
  CommissionPlanRow,
  RuleConditions,
  RuleConfig,
  RuleStatus,
  RuleType,
} from '../../src/commissions/commission-plan.table.ts';
import type { Db } from '../../src/db/database.ts';
import { type AttributionInput, lockOrCreateDeal, setAttributions } from '../../src/deals/deal.repository.ts';
import type { StageCategory } from '../../src/deals/deal.table.ts';
import type { NormalizedDealEvent } from '../../src/deals/deal-event.ts';
import { recordDealEvent } from '../../src/deals/deal-events.ts';
import { accountBalance } from '../../src/ledger/account.repository.ts';
import type { PartnerKind, PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import type { Services } from '../../src/services.ts';
import type { TenantRow } from '../../src/tenants/tenant.table.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeProgram } from '../factories/program.factory.ts';
import { makeTenant } from '../factories/tenant.factory.ts';

let seq = 0;

/** Lines of one posting in leg order: the commission, then its overrides by depth. */
export function byLeg(a: CommissionLineRow, b: CommissionLineRow): number {
  return (
    a.recorded_at.getTime() - b.recorded_at.getTime() ||
    (a.override_depth ?? 0) - (b.override_depth ?? 0) ||
    a.cause_key.localeCompare(b.cause_key)
  );
}

/** A tenant, a program with a plan, and helpers to add rules, partners, deals and deal events. */
export interface EngineWorld {
  db: Db;
  tenant: TenantRow;
  program: ProgramRow;
  plan: CommissionPlanRow;
  clock: ManualClock;
  services: Services;
  rule(
    type: RuleType,
    config: RuleConfig,
    options?: {
      key?: string;
      conditions?: RuleConditions;
      from?: Date;
      status?: RuleStatus;
      position?: number;
    },
  ): Promise<string>;
  partner(options?: {
    parentId?: string | null;
    kind?: PartnerKind;
    tierId?: string | null;
  }): Promise<PartnerRow>;
  /** A deal fed through the API: in the program, credited to these partners. */
  deal(attributions: AttributionInput[], crmDealId?: string): Promise<string>;
  event(
    crmDealId: string,
    at: string,
    changes: NormalizedDealEvent['changes'],
    options?: { id?: string; type?: NormalizedDealEvent['type'] },
  ): Promise<Awaited<ReturnType<typeof recordDealEvent>>>;
  won(
    crmDealId: string,
    at: string,
    amount?: bigint,
    currency?: string,
    id?: string,
  ): ReturnType<EngineWorld['event']>;
  stage(
    crmDealId: string,
    at: string,
    category: StageCategory,
    id?: string,
  ): ReturnType<EngineWorld['event']>;
  amount(
    crmDealId: string,
    at: string,
    amount: bigint,
    currency?: string,
    id?: string,
  ): ReturnType<EngineWorld['event']>;
  /** Lines holding money now (not clawbacks, not cancelled, not reversed), by partner. */
  live(partnerId?: string): Promise<CommissionLineRow[]>;
  lines(): Promise<CommissionLineRow[]>;
  /** Σ live line amounts of a partner. */
  owedTo(partnerId: string): Promise<bigint>;
  balance(kind: 'partner_pending' | 'partner_payable', partnerId: string): Promise<bigint>;
}

export async function makeEngineWorld(
  db: Db,
  options: { timeZone?: string; currency?: string; holdDays?: number } = {},
): Promise<EngineWorld> {
  const { tenant } = await makeTenant(db, { timeZone: options.timeZone ?? 'UTC' });
  const program = await makeProgram(db, tenant.id, {
    currency: options.currency ?? 'USD',
    holdDays: options.holdDays ?? 30,
  });
  const plan = await db
    .transaction()
    .execute((tx) => createPlan(tx, { tenantId: tenant.id, programId: program.id, name: 'Plan' }));
  const clock = new ManualClock(new Date('2026-03-01T00:00:00Z'));
  const services = { clock } as unknown as Services;
  const dealIds = new Map<string, string>();

  const world: EngineWorld = {
    db,
    tenant,
    program,
    plan,
    clock,
    services,
    async rule(type, config, o = {}) {
      const key = o.key ?? `${type}-${++seq}`;
      await db.transaction().execute((tx) =>
        addRuleVersion(tx, {
          tenantId: tenant.id,
          planId: plan.id,
          ruleKey: key,
          type,
          config,
          conditions: o.conditions ?? {},
          effectiveFrom: o.from ?? new Date('2020-01-01T00:00:00Z'),
          ...(o.status ? { status: o.status } : {}),
          ...(o.position !== undefined ? { position: o.position } : {}),
        }),
      );
      return key;
    },
    partner(o = {}) {
      return makePartner(db, tenant.id, {
        parentId: o.parentId ?? null,
        ...(o.kind ? { kind: o.kind } : {}),
        tierId: o.tierId ?? null,
      });
    },
    async deal(attributions, crmDealId = `crm-${++seq}`) {
      await db.transaction().execute(async (tx) => {
        const deal = (await lockOrCreateDeal(tx, tenant.id, 'api', crmDealId))!;
        await tx.updateTable('deals').set({ program_id: program.id }).where('id', '=', deal.id).execute();
        await setAttributions(tx, deal, attributions);
        dealIds.set(crmDealId, deal.id);
      });
      return crmDealId;
    },
    event(crmDealId, at, changes, o = {}) {
      return db.transaction().execute((tx) =>
        recordDealEvent(tx, services, {
          tenantId: tenant.id,
          source: 'api',
          sourceEventId: o.id ?? `evt-${++seq}`,
          crmDealId,
          occurredAt: new Date(at),
          type:
            o.type ??
            (changes.stage ? 'deal.stage_changed' : changes.amount ? 'deal.amount_changed' : 'deal.updated'),
          changes,
        }),
      );
    },
    won(crmDealId, at, amount, currency = program.currency, id) {
      return world.event(
        crmDealId,
        at,
        {
          stage: { id: 'closedwon', category: 'won', label: 'Closed won' },
          ...(amount !== undefined ? { amount: { amount, currency } } : {}),
        },
        id ? { id } : {},
      );
    },
    stage(crmDealId, at, category, id) {
      return world.event(crmDealId, at, { stage: { id: `stage-${category}`, category } }, id ? { id } : {});
    },
    amount(crmDealId, at, amount, currency = program.currency, id) {
      return world.event(crmDealId, at, { amount: { amount, currency } }, id ? { id } : {});
    },
    async lines() {
      return db
        .selectFrom('commission_lines')
        .selectAll()
        .where('tenant_id', '=', tenant.id)
        .orderBy('recorded_at')
        .orderBy('id')
        .execute();
    },
    async live(partnerId) {
      const all = await world.lines();
      const reversed = new Set(all.map((l) => l.reverses_line_id).filter(Boolean));
      return all
        .sort(byLeg)
        .filter(
          (l) =>
            l.kind !== 'clawback' &&
            l.status !== 'cancelled' &&
            !reversed.has(l.id) &&
            (!partnerId || l.partner_id === partnerId),
        );
    },
    async owedTo(partnerId) {
      return (await world.live(partnerId)).reduce((s, l) => s + BigInt(l.amount), 0n);
    },
    balance(kind, partnerId) {
      return accountBalance(db, tenant.id, {
        kind,
        partnerId,
        programId: program.id,
        currency: program.currency,
      });
    },
  };
  return world;
}
