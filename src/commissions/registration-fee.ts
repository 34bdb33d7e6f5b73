import type { Tx } from '../db/database.ts';
import type { Services } from '../services.ts';
import { loadPartners, loadProgramSetup, loadRules } from './commission-context.ts';
import type { CommissionLineRow } from './commission-line.table.ts';
import { accrueLines } from './commission-lines.ts';
import type { FlatFeeConfig } from './commission-plan.table.ts';
import {
  type EngineContext,
  type OwedLine,
  overrideLines,
  partnerPasses,
  rulesInForce,
} from './rule-engine.ts';

/**
 * The flat fees a program pays when a registration is approved (and their overrides), under the
 * rule versions in force at the approval. One ledger transaction per registration, keyed by it, so a
 * second delivery of the event posts nothing.
 */
export async function accrueRegistrationFees(
  tx: Tx,
  services: Services,
  input: { tenantId: string; registrationId: string },
): Promise<CommissionLineRow[]> {
  const registration = await tx
    .selectFrom('registrations')
    .select(['id', 'program_id', 'partner_id', 'approved_at', 'status'])
    .where('tenant_id', '=', input.tenantId)
    .where('id', '=', input.registrationId)
    .executeTakeFirst();
  if (!registration?.approved_at) return [];
  const setup = await loadProgramSetup(tx, input.tenantId, registration.program_id);
  if (!setup) return [];
  const at = registration.approved_at;
  const rules = rulesInForce(await loadRules(tx, input.tenantId, setup.planId), at);
  const fees = rules.filter(
    (r) => r.type === 'flat_fee' && (r.config as FlatFeeConfig).on === 'registration_approved',
  );
  if (fees.length === 0) return [];
  const partners = await loadPartners(tx, input.tenantId, [registration.partner_id]);
  const ctx: EngineContext = {
    program: { id: setup.id, currency: setup.currency },
    partners,
    problems: [],
    fxRate: () => null,
    recordedAncestors: () => undefined,
  };
  const lines: OwedLine[] = [];
  for (const rule of fees) {
    if (!partnerPasses(rule.conditions, partners.get(registration.partner_id))) continue;
    const key = `registration:${registration.id}:rule:${rule.rule_key}:partner:${registration.partner_id}`;
    lines.push({
      key,
      causeKey: key,
      programId: setup.id,
      partnerId: registration.partner_id,
      ruleId: rule.id,
      ruleVersion: rule.version,
      kind: 'commission',
      amount: BigInt((rule.config as FlatFeeConfig).amount),
      currency: setup.currency,
      explanation: {
        rule: rule.rule_key,
        type: 'flat_fee',
        on: 'registration_approved',
        registrationId: registration.id,
      },
    });
  }
  for (const rule of rules.filter((r) => r.type === 'override'))
    lines.push(...overrideLines(rule, [...lines], new Map(), ctx));
  const result = await accrueLines(tx, {
    tenantId: input.tenantId,
    transactionKey: `registration:${registration.id}:fees`,
    cause: { registration: registration.id, event: 'registration.approved' },
    occurredAt: at,
    holdDays: setup.holdDays,
    recordedAt: services.clock.now(),
    lines: lines.map((l) => ({ ...l, sourceCauseKey: l.sourceKey ?? null })),
  });
  return result.lines;
}
