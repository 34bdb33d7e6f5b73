import { randomBytes } from 'node:crypto';
import type { AuditContext } from '../../src/audit/audit.repository.ts';
import { approveLines } from '../../src/commissions/approve-lines.ts';
import { accrueLines } from '../../src/commissions/commission-lines.ts';
import { runPayouts } from '../../src/payouts/payout-run.ts';
import { approveBatch } from '../../src/payouts/payout-settlement.ts';
import type { AuthzWorld } from '../authz/authz-world.ts';

// Fresh targets for the authorization matrix's commission-line and payout rows (test/authz).

const audit = (tenantId: string): AuditContext => ({
  tenantId,
  actorType: 'system',
  actorId: null,
  source: 'test',
});

/** A new line of Acme's `mid` partner, already past its (zero-day) hold. */
export async function acmeDueLine(w: AuthzWorld): Promise<string> {
  const cause = `matrix:${randomBytes(6).toString('hex')}`;
  const { program, mid } = w.acme;
  const result = await w.db.transaction().execute((tx) =>
    accrueLines(tx, {
      tenantId: w.acme.t.tenant.id,
      transactionKey: cause,
      cause: { matrix: cause },
      occurredAt: w.clock.now(),
      holdDays: 0,
      lines: [
        {
          programId: program.id,
          partnerId: mid.id,
          kind: 'commission',
          causeKey: `${cause}:line`,
          amount: 1_000n,
          currency: program.currency,
          explanation: {},
        },
      ],
    }),
  );
  return result.lines[0]!.id;
}

/** A new approved (payable) line of Acme. */
export async function acmePayableLine(w: AuthzWorld): Promise<string> {
  const id = await acmeDueLine(w);
  await w.db.transaction().execute((tx) =>
    approveLines(tx, {
      tenantId: w.acme.t.tenant.id,
      selection: { lineIds: [id] },
      now: w.clock.now(),
      approvedBy: 'matrix',
      audit: audit(w.acme.t.tenant.id),
    }),
  );
  return id;
}

/** A new Acme payout batch over a fresh payable line: draft, or approved. */
export async function acmeBatch(
  w: AuthzWorld,
  state: 'draft' | 'approved',
): Promise<{ batchId: string; payoutId: string }> {
  await acmePayableLine(w);
  const tenantId = w.acme.t.tenant.id;
  return w.db.transaction().execute(async (tx) => {
    const now = w.clock.now();
    const run = await runPayouts(tx, {
      tenantId,
      currency: w.acme.program.currency,
      now,
      createdBy: 'matrix',
      audit: audit(tenantId),
    });
    const batchId = run.batch!.id;
    if (state === 'approved')
      await approveBatch(tx, { tenantId, now, actor: 'matrix', audit: audit(tenantId) }, batchId);
    return { batchId, payoutId: run.payouts[0]!.id };
  });
}
