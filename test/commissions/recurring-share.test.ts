import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { accrueRecurringJob } from '../../src/commissions/accrue-recurring.job.ts';
import { accrueDueRecurring } from '../../src/commissions/recurring-accrual.ts';
import { recordDealEvent } from '../../src/deals/deal-events.ts';
import { allJobs } from '../../src/jobs/all-jobs.ts';
import { allSchedules } from '../../src/jobs/all-schedules.ts';
import { accountBalance } from '../../src/ledger/account.repository.ts';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeProgram } from '../factories/program.factory.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import { usingPostgres } from '../helpers/test-database.ts';
import { openWorld, type TestWorld } from '../helpers/test-world.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

describe(`recurring share: rate × each closed month's revenue for N months (${mode})`, () => {
  let world: TestWorld;
  const clock = new ManualClock(new Date('2026-01-05T12:00:00.000Z'));

  beforeAll(async () => {
    world = await openWorld({ clock });
  });
  afterAll(async () => {
    await world?.close();
  });

  const db = () => world.runtime.db;

  /** A tenant in `timeZone`, a EUR program whose plan has one recurring_share rule, a deal credited to a partner. */
  async function setup(timeZone: string, config: { rate: string; months: number | null }, weights = ['1']) {
    const { tenant } = await makeTenant(db(), { timeZone });
    const program = await makeProgram(db(), tenant.id, { currency: 'EUR', holdDays: 30 });
    const plan = await db()
      .insertInto('commission_plans')
      .values({ tenant_id: tenant.id, program_id: program.id, name: 'Plan' })
      .returningAll()
      .executeTakeFirstOrThrow();
    const rule = await db()
      .insertInto('commission_rules')
      .values({
        tenant_id: tenant.id,
        plan_id: plan.id,
        rule_key: 'mrr',
        version: 1,
        effective_from: new Date('2020-01-01T00:00:00.000Z'),
        effective_to: null,
        status: 'active',
        type: 'recurring_share',
        config: JSON.stringify(config),
        conditions: '{}',
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const partners = [];
    for (const _ of weights) partners.push(await makePartner(db(), tenant.id));
    const crmDealId = `deal-${randomBytes(4).toString('hex')}`;
    const deal = await db()
      .insertInto('deals')
      .values({
        tenant_id: tenant.id,
        source: 'api',
        crm_deal_id: crmDealId,
        program_id: program.id,
        currency: 'EUR',
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await db()
      .insertInto('deal_attributions')
      .values(
        partners.map((p, i) => ({
          tenant_id: tenant.id,
          deal_id: deal.id,
          partner_id: p.id,
          split_weight: weights[i]!,
          position: i,
        })),
      )
      .execute();
    let seq = 0;
    /** A `revenue.recorded` event through the commission engine's entry point. */
    const revenue = (month: string, amount: bigint, currency = 'EUR') =>
      db()
        .transaction()
        .execute((tx) =>
          recordDealEvent(tx, world.runtime.services, {
            tenantId: tenant.id,
            source: 'api',
            sourceEventId: `${crmDealId}-rev-${++seq}`,
            crmDealId,
            occurredAt: new Date(`${month}-15T12:00:00.000Z`),
            type: 'revenue.recorded',
            changes: {},
            revenue: { revenueId: `${month}-${seq}`, amount, currency, month },
          }),
        );
    const lines = () =>
      db()
        .selectFrom('commission_lines')
        .selectAll()
        .where('tenant_id', '=', tenant.id)
        .where('deal_id', '=', deal.id)
        .orderBy('recorded_at')
        .orderBy('cause_key')
        .execute();
    /** Net recurring amount per month (live lines and their clawbacks). */
    const netByMonth = async () => {
      const net = new Map<string, bigint>();
      for (const l of await lines())
        net.set(l.period_key!, (net.get(l.period_key!) ?? 0n) + BigInt(l.amount));
      return Object.fromEntries([...net].filter(([, v]) => v !== 0n).sort());
    };
    return { tenant, program, rule, partners, deal, revenue, lines, netByMonth };
  }

  it('is registered as an hourly scheduled job', () => {
    expect(allJobs).toContain(accrueRecurringJob);
    expect(allSchedules.find((s) => s.job === accrueRecurringJob)?.everyMs).toBe(3_600_000);
  });

  it('§4.6 New York: January closes at 00:00 local on 1 February (05:00Z), not at 23:59:59.999; 10% of 1,000.05 is 100.00 (half-even)', async () => {
    const s = await setup('America/New_York', { rate: '0.1', months: 12 });
    expect((await s.revenue('2026-01', 100_005n)).outcome).toBe('applied');
    await accrueDueRecurring(db(), new Date('2026-02-01T04:59:59.999Z'));
    expect(await s.lines()).toEqual([]);
    await accrueDueRecurring(db(), new Date('2026-02-01T05:00:00.000Z'));
    const [line, ...rest] = await s.lines();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      kind: 'recurring',
      amount: 10_000n,
      currency: 'EUR',
      basis_amount: 100_005n,
      rate: '0.1',
      period_key: '2026-01',
      rule_id: s.rule.id,
      status: 'pending',
      cause_key: `recurring:${s.deal.id}:mrr:2026-01:partner:${s.partners[0]!.id}`,
    });
    expect(line!.accrued_at.toISOString()).toBe('2026-02-01T05:00:00.000Z');
  });

  it('§4.6 London, DST: March closes at 23:00Z on 31 March (00:00 BST); Tokyo: a UTC March 31 15:00Z is already April locally', async () => {
    const london = await setup('Europe/London', { rate: '0.2', months: null });
    await london.revenue('2026-03', 50_000n);
    await accrueDueRecurring(db(), new Date('2026-03-31T22:59:59.999Z'));
    expect(await london.lines()).toEqual([]);
    await accrueDueRecurring(db(), new Date('2026-03-31T23:00:00.000Z'));
    expect(await london.netByMonth()).toEqual({ '2026-03': 10_000n });

    const tokyo = await setup('Asia/Tokyo', { rate: '0.2', months: null });
    await tokyo.revenue('2026-03', 50_000n);
    await accrueDueRecurring(db(), new Date('2026-03-31T14:59:59.999Z'));
    expect(await tokyo.lines()).toEqual([]);
    await accrueDueRecurring(db(), new Date('2026-03-31T15:00:00.000Z'));
    expect((await tokyo.lines()).map((l) => [l.period_key, l.accrued_at.toISOString()])).toEqual([
      ['2026-03', '2026-03-31T15:00:00.000Z'],
    ]);
  });

  it('§4.7 covers exactly N = 3 months from the first revenue month: January to March, not April or May', async () => {
    const s = await setup('UTC', { rate: '0.1', months: 3 });
    for (const month of ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05'])
      await s.revenue(month, 10_000n);
    await accrueDueRecurring(db(), new Date('2026-06-01T00:00:00.000Z'));
    expect(await s.netByMonth()).toEqual({ '2026-01': 1_000n, '2026-02': 1_000n, '2026-03': 1_000n });
  });

  it('catches up after downtime: each closed month posted once, a second and a concurrent run post nothing', async () => {
    const s = await setup('Europe/Berlin', { rate: '0.05', months: null });
    for (const month of ['2026-01', '2026-02', '2026-03', '2026-04']) await s.revenue(month, 200_000n);
    await accrueDueRecurring(db(), new Date('2026-04-20T00:00:00.000Z'));
    expect(await s.netByMonth()).toEqual({ '2026-01': 10_000n, '2026-02': 10_000n, '2026-03': 10_000n });
    await Promise.all([
      accrueDueRecurring(db(), new Date('2026-04-20T01:00:00.000Z')),
      accrueDueRecurring(db(), new Date('2026-04-20T01:00:00.000Z')),
    ]);
    expect(await s.lines()).toHaveLength(3);
    await accrueDueRecurring(db(), new Date('2026-05-01T00:00:00.000Z'));
    expect(await s.lines()).toHaveLength(4);
    expect((await verifyLedger(db(), { tenantId: s.tenant.id })).ok).toBe(true);
  });

  it('§4.4 a correction of an accrued month (+50.00 on 1,000.00 at 10%) reverses 100.00 exactly and re-accrues 105.00', async () => {
    const s = await setup('UTC', { rate: '0.1', months: null });
    await s.revenue('2026-02', 100_000n);
    await accrueDueRecurring(db(), new Date('2026-03-01T00:00:00.000Z'));
    expect(await s.netByMonth()).toEqual({ '2026-02': 10_000n });
    await s.revenue('2026-02', 5_000n);
    await accrueDueRecurring(db(), new Date('2026-03-02T00:00:00.000Z'));
    const lines = await s.lines();
    // The reversal and the re-accrual are one database transaction, recorded at the same instant.
    expect(lines.map((l) => [l.kind, l.amount, l.status]).sort()).toEqual([
      ['clawback', -10_000n, 'cancelled'],
      ['recurring', 10_000n, 'cancelled'],
      ['recurring', 10_500n, 'pending'],
    ]);
    expect(lines.find((l) => l.status === 'pending')!.cause_key).toBe(
      `recurring:${s.deal.id}:mrr:2026-02:partner:${s.partners[0]!.id}:rev1`,
    );
    const pending = await accountBalance(db(), s.tenant.id, {
      kind: 'partner_pending',
      partnerId: s.partners[0]!.id,
      programId: s.program.id,
      currency: 'EUR',
    });
    expect(pending).toBe(10_500n);
    await accrueDueRecurring(db(), new Date('2026-03-03T00:00:00.000Z'));
    expect(await s.lines()).toHaveLength(3);
    expect((await verifyLedger(db(), { tenantId: s.tenant.id })).ok).toBe(true);
  });

  it('§4.2 late revenue for an earlier month moves the N-month window: March is reversed, December accrued', async () => {
    const s = await setup('UTC', { rate: '0.1', months: 3 });
    for (const month of ['2026-01', '2026-02', '2026-03']) await s.revenue(month, 10_000n);
    await accrueDueRecurring(db(), new Date('2026-04-01T00:00:00.000Z'));
    expect(Object.keys(await s.netByMonth())).toEqual(['2026-01', '2026-02', '2026-03']);
    await s.revenue('2025-12', 20_000n);
    await accrueDueRecurring(db(), new Date('2026-04-01T01:00:00.000Z'));
    expect(await s.netByMonth()).toEqual({ '2025-12': 2_000n, '2026-01': 1_000n, '2026-02': 1_000n });
  });

  it('§5.11 splits each month by largest remainder: 10% of 100.01 split 2:1 is 6.67 + 3.33', async () => {
    const s = await setup('UTC', { rate: '0.1', months: 1 }, ['2', '1']);
    await s.revenue('2026-01', 10_001n);
    await accrueDueRecurring(db(), new Date('2026-02-01T00:00:00.000Z'));
    // 1,000.1 → 1,000 (half-even), split 2:1 → 666.67 + 333.33 → 667 + 333.
    expect((await s.lines()).map((l) => [l.partner_id, l.amount])).toEqual(
      expect.arrayContaining([
        [s.partners[0]!.id, 667n],
        [s.partners[1]!.id, 333n],
      ]),
    );
  });

  it('a deal event after a recurring accrual leaves the recurring lines alone', async () => {
    const s = await setup('UTC', { rate: '0.1', months: null });
    await s.revenue('2026-01', 10_000n);
    await accrueDueRecurring(db(), new Date('2026-02-01T00:00:00.000Z'));
    // Two events, so the deal's version passes 1 and the engine compares what the deal holds.
    for (const [day, amount] of [
      ['2026-02-10', 999_00n],
      ['2026-02-11', 1_999_00n],
    ] as const) {
      await db()
        .transaction()
        .execute((tx) =>
          recordDealEvent(tx, world.runtime.services, {
            tenantId: s.tenant.id,
            source: 'api',
            sourceEventId: `amount-${randomBytes(3).toString('hex')}`,
            crmDealId: s.deal.crm_deal_id,
            occurredAt: new Date(`${day}T00:00:00.000Z`),
            type: 'deal.amount_changed',
            changes: { amount: { amount, currency: 'EUR' } },
          }),
        );
    }
    expect(await s.netByMonth()).toEqual({ '2026-01': 1_000n });
  });
});
