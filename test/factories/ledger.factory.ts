import type { Db, Tx } from '../../src/db/database.ts';
import type { PostLine } from '../../src/ledger/post-transaction.ts';
import type { PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import type { TenantRow } from '../../src/tenants/tenant.table.ts';
import { makePartner } from './partner.factory.ts';
import { makeProgram } from './program.factory.ts';
import { makeTenant } from './tenant.factory.ts';

export interface LedgerFixture {
  tenant: TenantRow;
  program: ProgramRow;
  /** A lead agency, its delivery partner, and that one's sub-contractor. */
  partners: PartnerRow[];
}

/** A tenant with one program and a three-level partner chain, ready for postings. */
export async function makeLedgerFixture(db: Db, partnerCount = 3): Promise<LedgerFixture> {
  const { tenant } = await makeTenant(db);
  const program = await makeProgram(db, tenant.id);
  const partners: PartnerRow[] = [];
  for (let i = 0; i < partnerCount; i++) {
    partners.push(
      await makePartner(db, tenant.id, { parentId: i > 0 && i < 3 ? partners[i - 1]!.id : null }),
    );
  }
  return { tenant, program, partners };
}

/** The lines of one accrual: the program's expense pays each partner its amount, into pending. */
export function accrualLines(programId: string, currency: string, shares: [string, bigint][]): PostLine[] {
  return shares.flatMap(([partnerId, amount]) => [
    { account: { kind: 'program_expense' as const, programId, currency }, amount: -amount },
    { account: { kind: 'partner_pending' as const, partnerId, currency }, amount },
  ]);
}

/** Entries of a transaction, in the order they were written. */
export async function entriesOf(db: Db | Tx, transactionId: string) {
  return db
    .selectFrom('ledger_entries')
    .selectAll()
    .where('transaction_id', '=', transactionId)
    .orderBy('id')
    .execute();
}

/** Row counts of the ledger tables for one tenant: what "nothing was written" compares. */
export async function ledgerCounts(db: Db, tenantId: string) {
  const count = async (table: 'ledger_accounts' | 'ledger_transactions' | 'ledger_entries') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    accounts: await count('ledger_accounts'),
    transactions: await count('ledger_transactions'),
    entries: await count('ledger_entries'),
  };
}
