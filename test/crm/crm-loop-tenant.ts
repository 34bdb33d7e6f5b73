import { addRuleVersion, createPlan } from '../../src/commissions/commission-plan.repository.ts';
import type { Db } from '../../src/db/database.ts';
import { accountBalance } from '../../src/ledger/account.repository.ts';
import { createApiKey } from '../../src/tenants/api-key.service.ts';
import { makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';

/**
 * What the install-to-ledger loops of both CRMs (test/crm/<crm>/full-loop.test.ts) set up in the
 * installed tenant: admin and sales-rep keys, a USD program with a 30-day hold, a partner under a
 * lead agency, and a plan paying a 10 % revenue share with a 10 % override one level up; and the
 * two ways they read the outcome (a partner's pending balance, a deal's lines).
 */
export async function setUpLoopTenant(db: Db, tenantId: string) {
  const keys = {
    admin: (await createApiKey(db, { tenantId, role: 'admin', name: 'admin' })).key,
    sales_rep: (await createApiKey(db, { tenantId, role: 'sales_rep', name: 'rep' })).key,
  };
  const program = await makeProgram(db, tenantId, { currency: 'USD', holdDays: 30 });
  const programId = program.id;
  const parentId = (await makePartner(db, tenantId, { name: 'Lead Agency' })).id;
  const partnerId = (await makePartner(db, tenantId, { name: 'Acme Referrals', parentId })).id;
  await makeEnrolment(db, tenantId, programId, partnerId);
  await db.transaction().execute(async (tx) => {
    const plan = await createPlan(tx, { tenantId, programId, name: 'Revenue share' });
    const rule = { tenantId, planId: plan.id, conditions: {}, effectiveFrom: new Date('2020-01-01Z') };
    await addRuleVersion(tx, { ...rule, ruleKey: 'share', type: 'revenue_share', config: { rate: '0.1' } });
    await addRuleVersion(tx, {
      ...rule,
      ruleKey: 'override',
      type: 'override',
      config: { basis: 'commission', levels: ['0.1'] },
    });
  });

  return {
    programId,
    parentId,
    partnerId,
    headers: (role: 'admin' | 'sales_rep') => ({ authorization: `Bearer ${keys[role]}` }),
    /** The partner's pending balance in the program. */
    pending: (id: string) =>
      accountBalance(db, tenantId, { kind: 'partner_pending', partnerId: id, programId, currency: 'USD' }),
    /** The deal's lines, and those holding money now (not clawbacks, not cancelled, not reversed). */
    async liveLines(crmDealId: string) {
      const lines = await db
        .selectFrom('commission_lines')
        .innerJoin('deals', 'deals.id', 'commission_lines.deal_id')
        .selectAll('commission_lines')
        .where('deals.tenant_id', '=', tenantId)
        .where('deals.crm_deal_id', '=', crmDealId)
        .execute();
      const reversed = new Set(lines.map((l) => l.reverses_line_id).filter(Boolean));
      const live = lines.filter(
        (l) => l.kind !== 'clawback' && l.status !== 'cancelled' && !reversed.has(l.id),
      );
      return {
        all: lines,
        live: live
          .map((l) => [l.partner_id, l.kind, BigInt(l.amount)] as const)
          .sort((a, b) => (a[2] > b[2] ? -1 : 1)),
      };
    },
  };
}

export type LoopTenant = Awaited<ReturnType<typeof setUpLoopTenant>>;
