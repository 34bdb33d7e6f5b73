import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type {
  CommissionPlanRow,
  CommissionRuleRow,
  FxRateRow,
  RuleConditions,
  RuleConfig,
  RuleStatus,
  RuleType,
} from './commission-plan.table.ts';
import { validateRule } from './rule-config.ts';

export async function createPlan(
  tx: Tx,
  input: { tenantId: string; programId: string; name: string; attach?: boolean },
): Promise<CommissionPlanRow> {
  const program = await tx
    .selectFrom('programs')
    .select(['id', 'commission_plan_id'])
    .where('tenant_id', '=', input.tenantId)
    .where('id', '=', input.programId)
    .forUpdate()
    .executeTakeFirst();
  if (!program) throw new AppError('not_found', 'Program not found');
  const plan = await tx
    .insertInto('commission_plans')
    .values({ tenant_id: input.tenantId, program_id: input.programId, name: input.name })
    .returningAll()
    .executeTakeFirstOrThrow();
  // The first plan of a program is its plan; a later one is a draft to preview until attached.
  if (input.attach ?? program.commission_plan_id === null) {
    await tx
      .updateTable('programs')
      .set({ commission_plan_id: plan.id })
      .where('tenant_id', '=', input.tenantId)
      .where('id', '=', input.programId)
      .execute();
  }
  return plan;
}

export function findPlan(db: DbOrTx, tenantId: string, planId: string) {
  return db
    .selectFrom('commission_plans')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', planId)
    .executeTakeFirst();
}

export function listPlans(db: DbOrTx, tenantId: string, programId: string) {
  return db
    .selectFrom('commission_plans')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export function planRules(db: DbOrTx, tenantId: string, planId: string): Promise<CommissionRuleRow[]> {
  return db
    .selectFrom('commission_rules')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('plan_id', '=', planId)
    .orderBy('position')
    .orderBy('rule_key')
    .orderBy('version')
    .execute();
}

export interface RuleInput {
  tenantId: string;
  planId: string;
  ruleKey: string;
  type: RuleType;
  config: RuleConfig;
  conditions?: RuleConditions;
  effectiveFrom: Date;
  status?: RuleStatus;
  position?: number;
}

/**
 * Adds a version of a rule. A change never edits a version in force: the new version applies from
 * its effective date, and the previous version (if it started earlier) ends there. Serialised per
 * rule key, so two changes at once make versions n+1 and n+2, not two n+1.
 */
export async function addRuleVersion(tx: Tx, input: RuleInput): Promise<CommissionRuleRow> {
  validateRule(input.type, input.config, input.conditions ?? {});
  const plan = await findPlan(tx, input.tenantId, input.planId);
  if (!plan) throw new AppError('not_found', 'Commission plan not found');
  await sql`select pg_advisory_xact_lock(hashtextextended(${`rule:${input.tenantId}:${input.planId}:${input.ruleKey}`}, 0))`.execute(
    tx,
  );
  const versions = await tx
    .selectFrom('commission_rules')
    .selectAll()
    .where('tenant_id', '=', input.tenantId)
    .where('plan_id', '=', input.planId)
    .where('rule_key', '=', input.ruleKey)
    .orderBy('version', 'desc')
    .execute();
  const latest = versions[0];
  if (latest && latest.type !== input.type)
    throw new AppError('validation_failed', `Rule ${input.ruleKey} is a ${latest.type} rule`, {
      fields: [{ field: 'type', message: `must stay ${latest.type}` }],
    });
  const status = input.status ?? 'active';
  if (status === 'active') {
    // The versions in force at or after the new date end where the new one starts.
    for (const v of versions) {
      if (v.status !== 'active') continue;
      const endsAfter = !v.effective_to || v.effective_to.getTime() > input.effectiveFrom.getTime();
      if (endsAfter && v.effective_from.getTime() < input.effectiveFrom.getTime()) {
        await tx
          .updateTable('commission_rules')
          .set({ effective_to: input.effectiveFrom })
          .where('tenant_id', '=', input.tenantId)
          .where('id', '=', v.id)
          .execute();
      }
    }
  }
  return tx
    .insertInto('commission_rules')
    .values({
      tenant_id: input.tenantId,
      plan_id: input.planId,
      rule_key: input.ruleKey,
      version: (latest?.version ?? 0) + 1,
      effective_from: input.effectiveFrom,
      effective_to: null,
      status,
      type: input.type,
      config: JSON.stringify(input.config),
      conditions: JSON.stringify(input.conditions ?? {}),
      position: input.position ?? latest?.position ?? 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function addFxRate(
  db: DbOrTx,
  input: { tenantId: string; from: string; to: string; rate: string; effectiveOn: string },
): Promise<FxRateRow> {
  return db
    .insertInto('fx_rates')
    .values({
      tenant_id: input.tenantId,
      from_currency: input.from,
      to_currency: input.to,
      rate: input.rate,
      effective_on: input.effectiveOn,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'from_currency', 'to_currency', 'effective_on'])
        .doUpdateSet({ rate: input.rate }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function listFxRates(db: DbOrTx, tenantId: string) {
  return db
    .selectFrom('fx_rates')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('from_currency')
    .orderBy('to_currency')
    .orderBy('effective_on')
    .execute();
}
