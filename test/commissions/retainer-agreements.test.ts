import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { accrueRetainersJob } from '../../src/commissions/accrue-retainers.job.ts';
import { accrueDueRetainers } from '../../src/commissions/retainer-accrual.ts';
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

describe(`retainer agreements accrue the full monthly amount on the local 1st (${mode})`, () => {
  let world: TestWorld;
  const clock = new ManualClock(new Date('2026-02-10T12:00:00.000Z'));

  beforeAll(async () => {
    world = await openWorld({ clock });
  });
  afterAll(async () => {
    await world?.close();
  });

  const db = () => world.runtime.db;

  /** A tenant in `timeZone` with a program (hold 14 days), a partner, and an agreement via the API. */
  async function setup(timeZone: string, agreement: { activeFrom: string; activeTo?: string | null }) {
    const t = await makeTenant(db(), { timeZone });
    const program = await makeProgram(db(), t.tenant.id, { holdDays: 14, currency: 'EUR' });
    const partner = await makePartner(db(), t.tenant.id);
    const created = await world.app.inject({
      method: 'POST',
      url: '/api/v1/retainer-agreements',
      headers: t.as('program_manager'),
      payload: { partnerId: partner.id, programId: program.id, monthlyAmount: 150_000, ...agreement },
    });
    expect(created.statusCode, created.body).toBe(201);
    return { t, program, partner, agreement: created.json() as { id: string; currency: string } };
  }

  const linesOf = (agreementId: string) =>
    db()
      .selectFrom('commission_lines')
      .selectAll()
      .where('cause_key', 'like', `retainer:${agreementId}:%`)
      .orderBy('period_key')
      .execute();

  it('is registered as an hourly scheduled job', () => {
    expect(allJobs).toContain(accrueRetainersJob);
    expect(allSchedules.find((s) => s.job === accrueRetainersJob)?.everyMs).toBe(3_600_000);
  });

  it('§4.6 New York: nothing at 23:59:59.999 local on 31 March, 1,500.00 at 00:00 local on 1 April (04:00Z, EDT)', async () => {
    const { agreement, partner, program, t } = await setup('America/New_York', { activeFrom: '2026-04-01' });
    expect(agreement.currency).toBe('EUR');
    await accrueDueRetainers(db(), new Date('2026-04-01T03:59:59.999Z'));
    expect(await linesOf(agreement.id)).toEqual([]);
    await accrueDueRetainers(db(), new Date('2026-04-01T04:00:00.000Z'));
    const [april, ...rest] = await linesOf(agreement.id);
    expect(rest).toEqual([]);
    expect(april).toMatchObject({
      kind: 'retainer',
      amount: 150_000n,
      currency: 'EUR',
      period_key: '2026-04',
      status: 'pending',
      cause_key: `retainer:${agreement.id}:2026-04`,
      partner_id: partner.id,
    });
    expect(april!.accrued_at.toISOString()).toBe('2026-04-01T04:00:00.000Z');
    // The hold runs 14 days from the 1st.
    expect(april!.hold_until.toISOString()).toBe('2026-04-15T04:00:00.000Z');
    const pending = await accountBalance(db(), t.tenant.id, {
      kind: 'partner_pending',
      partnerId: partner.id,
      programId: program.id,
      currency: 'EUR',
    });
    expect(pending).toBe(150_000n);
  });

  it('§4.6 London across DST: 1 April local midnight is 23:00Z on 31 March; a UTC month-end at 23:30Z is already April', async () => {
    const { agreement } = await setup('Europe/London', { activeFrom: '2026-03-01' });
    await accrueDueRetainers(db(), new Date('2026-03-31T22:59:59.999Z'));
    expect((await linesOf(agreement.id)).map((l) => l.period_key)).toEqual(['2026-03']);
    await accrueDueRetainers(db(), new Date('2026-03-31T23:30:00.000Z'));
    const lines = await linesOf(agreement.id);
    expect(lines.map((l) => [l.period_key, l.accrued_at.toISOString()])).toEqual([
      ['2026-03', '2026-03-01T00:00:00.000Z'],
      ['2026-04', '2026-03-31T23:00:00.000Z'],
    ]);
  });

  it('starts mid-month without proration: from 15 January, first paid on 1 February', async () => {
    const { agreement } = await setup('UTC', { activeFrom: '2026-01-15' });
    await accrueDueRetainers(db(), new Date('2026-01-31T23:59:59.999Z'));
    expect(await linesOf(agreement.id)).toEqual([]);
    await accrueDueRetainers(db(), new Date('2026-02-01T00:00:00.000Z'));
    expect((await linesOf(agreement.id)).map((l) => [l.period_key, l.amount])).toEqual([
      ['2026-02', 150_000n],
    ]);
  });

  it('§4.1 catches up after downtime: four missed months posted once each, the next run posts nothing', async () => {
    const { agreement, t } = await setup('Asia/Tokyo', { activeFrom: '2026-05-01' });
    const first = await accrueDueRetainers(db(), new Date('2026-08-20T00:00:00.000Z'));
    expect(first.months).toBeGreaterThanOrEqual(4);
    const lines = await linesOf(agreement.id);
    expect(lines.map((l) => [l.period_key, l.accrued_at.toISOString()])).toEqual([
      ['2026-05', '2026-04-30T15:00:00.000Z'],
      ['2026-06', '2026-05-31T15:00:00.000Z'],
      ['2026-07', '2026-06-30T15:00:00.000Z'],
      ['2026-08', '2026-07-31T15:00:00.000Z'],
    ]);
    await accrueDueRetainers(db(), new Date('2026-08-20T01:00:00.000Z'));
    await Promise.all([
      accrueDueRetainers(db(), new Date('2026-08-20T02:00:00.000Z')),
      accrueDueRetainers(db(), new Date('2026-08-20T02:00:00.000Z')),
    ]);
    expect(await linesOf(agreement.id)).toHaveLength(4);
    expect((await verifyLedger(db(), { tenantId: t.tenant.id })).ok).toBe(true);
  });

  it('the scheduled job uses the clock: a run in the slot after the 1st posts that month', async () => {
    const { agreement } = await setup('UTC', { activeFrom: '2026-09-01' });
    clock.set(new Date('2026-09-01T00:10:00.000Z'));
    await accrueRetainersJob.handle(
      { slot: '2026-09-01T00:00:00.000Z' },
      {
        db: db(),
        log: pino({ level: 'silent' }),
        jobId: 'test',
        attempt: 1,
        services: world.runtime.services,
      },
    );
    expect((await linesOf(agreement.id)).map((l) => l.period_key)).toContain('2026-09');
  });

  it('ends after a last day: its month is paid, later months are not; ending before an accrued month is refused', async () => {
    const { agreement, t } = await setup('UTC', { activeFrom: '2026-01-01' });
    clock.set(new Date('2026-03-10T09:00:00.000Z'));
    await accrueDueRetainers(db(), clock.now());
    expect((await linesOf(agreement.id)).map((l) => l.period_key)).toEqual(['2026-01', '2026-02', '2026-03']);

    const tooEarly = await world.app.inject({
      method: 'POST',
      url: `/api/v1/retainer-agreements/${agreement.id}/end`,
      headers: t.as('admin'),
      payload: { lastDay: '2026-02-28' },
    });
    expect(tooEarly.statusCode, tooEarly.body).toBe(409);
    expect(tooEarly.json().error.details).toEqual({ lastAccruedMonth: '2026-03' });

    const ended = await world.app.inject({
      method: 'POST',
      url: `/api/v1/retainer-agreements/${agreement.id}/end`,
      headers: t.as('admin'),
      payload: { lastDay: '2026-04-01' },
    });
    expect(ended.statusCode, ended.body).toBe(200);
    expect(ended.json()).toMatchObject({ status: 'ended', activeTo: '2026-04-01' });
    await accrueDueRetainers(db(), new Date('2026-07-01T00:00:00.000Z'));
    expect((await linesOf(agreement.id)).map((l) => l.period_key)).toEqual([
      '2026-01',
      '2026-02',
      '2026-03',
      '2026-04',
    ]);
    // An empty body: the last day defaults to today.
    const again = await world.app.inject({
      method: 'POST',
      url: `/api/v1/retainer-agreements/${agreement.id}/end`,
      headers: t.as('admin'),
      payload: {},
    });
    expect(again.statusCode, again.body).toBe(409);
    expect(again.json().error.code).toBe('invalid_transition');
    const audit = await db()
      .selectFrom('audit_log')
      .select('action')
      .where('subject_id', '=', agreement.id)
      .orderBy('created_at')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['retainer_agreement.created', 'retainer_agreement.ended']);
  });

  it('lists and reads agreements; refuses another currency than the program’s, a rule that is not its retainer rule, and sales reps', async () => {
    const { agreement, partner, program, t } = await setup('UTC', { activeFrom: '2030-01-01' });
    const list = await world.app.inject({
      method: 'GET',
      url: `/api/v1/retainer-agreements?partnerId=${partner.id}`,
      headers: t.as('admin'),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((a: { id: string }) => a.id)).toEqual([agreement.id]);
    const one = await world.app.inject({
      method: 'GET',
      url: `/api/v1/retainer-agreements/${agreement.id}`,
      headers: t.as('program_manager'),
    });
    expect(one.json()).toMatchObject({ monthlyAmount: 150_000, activeFrom: '2030-01-01', activeTo: null });
    const usd = await world.app.inject({
      method: 'POST',
      url: '/api/v1/retainer-agreements',
      headers: t.as('admin'),
      payload: {
        partnerId: partner.id,
        programId: program.id,
        monthlyAmount: 100,
        currency: 'USD',
        activeFrom: '2030-01-01',
      },
    });
    expect(usd.statusCode).toBe(400);
    expect(usd.json().error.details.fields[0].field).toBe('body.currency');

    // The rule named must be a retainer rule of this program's plan.
    const plan = await db()
      .insertInto('commission_plans')
      .values({ tenant_id: t.tenant.id, program_id: program.id, name: 'Plan' })
      .returningAll()
      .executeTakeFirstOrThrow();
    const ruleOf = (type: 'retainer' | 'revenue_share', config: object) =>
      db()
        .insertInto('commission_rules')
        .values({
          tenant_id: t.tenant.id,
          plan_id: plan.id,
          rule_key: `${type}-${agreement.id.slice(0, 4)}`,
          version: 1,
          effective_from: new Date('2026-01-01T00:00:00.000Z'),
          effective_to: null,
          status: 'active',
          type,
          config: JSON.stringify(config),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    const retainer = await ruleOf('retainer', { monthlyAmount: '150000', successFee: '50000' });
    const share = await ruleOf('revenue_share', { rate: '0.1' });
    const withRule = (ruleId: string) =>
      world.app.inject({
        method: 'POST',
        url: '/api/v1/retainer-agreements',
        headers: t.as('admin'),
        payload: {
          partnerId: partner.id,
          programId: program.id,
          ruleId,
          monthlyAmount: 150_000,
          activeFrom: '2030-01-01',
        },
      });
    const wrong = await withRule(share.id);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.details.fields[0].field).toBe('body.ruleId');
    const right = await withRule(retainer.id);
    expect(right.statusCode, right.body).toBe(201);
    expect(right.json().ruleId).toBe(retainer.id);
    const rep = await world.app.inject({
      method: 'GET',
      url: '/api/v1/retainer-agreements',
      headers: t.as('sales_rep'),
    });
    expect(rep.statusCode).toBe(403);
  });
});
