import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRuleVersion, createPlan } from '../../src/commissions/commission-plan.repository.ts';
import { previewPlan } from '../../src/commissions/plan-preview.ts';
import { runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../helpers/test-database.ts';
import { type EngineWorld, makeEngineWorld } from './engine-fixture.ts';

const mode = usingPostgres ? 'PostgreSQL' : 'PGlite';

describe(`plan preview: what a draft plan would have paid, posting nothing (${mode})`, () => {
  let database: TestDatabase;
  let w: EngineWorld;
  let draftId: string;
  let seller: string;
  let lead: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const db = database.handle.db;
    w = await makeEngineWorld(db);
    await w.rule('revenue_share', { rate: '0.1' });
    lead = (await w.partner()).id;
    seller = (await w.partner({ parentId: lead })).id;
    await w.won(await w.deal([{ partnerId: seller }]), '2026-02-10T10:00:00Z', 100_000n);
    await w.won(await w.deal([{ partnerId: seller }]), '2026-02-20T10:00:00Z', 300_000n);
    await w.won(await w.deal([{ partnerId: seller }]), '2026-03-05T10:00:00Z', 900_000n);
    draftId = (
      await db.transaction().execute(async (tx) => {
        const plan = await createPlan(tx, {
          tenantId: w.tenant.id,
          programId: w.program.id,
          name: 'Draft',
          attach: false,
        });
        const base = {
          tenantId: w.tenant.id,
          planId: plan.id,
          effectiveFrom: new Date('2026-01-01T00:00:00Z'),
          status: 'draft' as const,
        };
        await addRuleVersion(tx, {
          ...base,
          ruleKey: 'tiers',
          type: 'volume_tier',
          config: {
            period: 'month',
            measure: 'count',
            mode: 'retroactive',
            tiers: [
              { from: '0', rate: '0.1' },
              { from: '2', rate: '0.15' },
            ],
          },
        });
        await addRuleVersion(tx, {
          ...base,
          ruleKey: 'ovr',
          type: 'override',
          config: { basis: 'commission', levels: ['0.1'] },
        });
        return plan;
      })
    ).id;
  });
  afterAll(async () => {
    await database.destroy();
  });

  it('February under the draft: 2 deals reach the 15 % tier: 150 + 450 (with adjustments) = 600.00, and 60.00 of override', async () => {
    const count = async () =>
      Number(
        (
          await w.db
            .selectFrom('ledger_entries')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const lines = await w.lines();
    const result = await previewPlan(w.db, {
      tenantId: w.tenant.id,
      programId: w.program.id,
      planId: draftId,
      from: '2026-02-01',
      to: '2026-02-28',
    });
    expect(result.deals).toBe(2);
    const total = (p: string) => result.totals.find((t) => t.partnerId === p)?.amount;
    expect(total(seller)).toBe(60_000n);
    expect(total(lead)).toBe(6_000n);
    expect(result.lines.filter((l) => l.kind === 'tier_adjustment').map((l) => l.amount)).toEqual([5_000n]);
    expect(await count()).toBe(before);
    expect((await w.lines()).length).toBe(lines.length);
    // The program's own plan (10 %) over the same days: what was actually posted.
    const actual = await previewPlan(w.db, {
      tenantId: w.tenant.id,
      programId: w.program.id,
      from: '2026-02-01',
      to: '2026-02-28',
    });
    expect(actual.totals).toEqual([{ partnerId: seller, currency: 'USD', amount: 40_000n }]);
  });

  it('`partnerloop commissions preview` prints the same totals as JSON', async () => {
    // The CLI opens the database itself; PGlite allows one process at a time.
    await database.handle.close();
    const out = await runCli(
      [
        'commissions',
        'preview',
        '--tenant',
        w.tenant.id,
        '--program',
        w.program.id,
        '--plan',
        draftId,
        '--from',
        '2026-02-01',
        '--to',
        '2026-02-28',
        '--json',
      ],
      database.env,
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const json = JSON.parse(out.stdout);
    expect(json.deals).toBe(2);
    expect(json.totals).toEqual(
      expect.arrayContaining([
        { partnerId: seller, currency: 'USD', amount: '60000' },
        { partnerId: lead, currency: 'USD', amount: '6000' },
      ]),
    );
    const usage = await runCli(
      [
        'commissions',
        'preview',
        '--tenant',
        'x',
        '--program',
        w.program.id,
        '--from',
        '2026-02-01',
        '--to',
        '2026-02-28',
      ],
      database.env,
    );
    expect(usage.code).not.toBe(0);
  });
});
