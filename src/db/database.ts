import type { Kysely, Transaction } from 'kysely';
import type { AuditLogTable } from '../audit/audit.table.ts';
import type { CommissionLineTable } from '../commissions/commission-line.table.ts';
import type { DealAttributionTable, DealEventTable, DealTable } from '../deals/deal.table.ts';
import type { IdempotencyKeyTable } from '../http/idempotency.table.ts';
import type { InboxTable } from '../inbox/inbox.table.ts';
import type { LocalJobTable } from '../jobs/local-job.table.ts';
import type { OutboxTable } from '../jobs/outbox.table.ts';
import type { LedgerAccountTable, LedgerEntryTable, LedgerTransactionTable } from '../ledger/ledger.table.ts';
import type { PartnerLinkTable } from '../links/partner-link.table.ts';
import type { PartnerContactTable, PartnerTable, TierTable } from '../partners/partner.table.ts';
import type { EnrolmentTable, ProgramTable } from '../programs/program.table.ts';
import type { RegistrationTable } from '../registrations/registration.table.ts';
import type { ApiKeyTable, TenantTable } from '../tenants/tenant.table.ts';

/** Every table of the schema, as Kysely sees it. Features add their tables here. */
export interface Database {
  inbox: InboxTable;
  outbox: OutboxTable;
  local_jobs: LocalJobTable;
  tenants: TenantTable;
  api_keys: ApiKeyTable;
  tiers: TierTable;
  partners: PartnerTable;
  partner_contacts: PartnerContactTable;
  programs: ProgramTable;
  enrolments: EnrolmentTable;
  partner_links: PartnerLinkTable;
  registrations: RegistrationTable;
  audit_log: AuditLogTable;
  idempotency_keys: IdempotencyKeyTable;
  ledger_accounts: LedgerAccountTable;
  ledger_transactions: LedgerTransactionTable;
  ledger_entries: LedgerEntryTable;
  deals: DealTable;
  deal_attributions: DealAttributionTable;
  deal_events: DealEventTable;
  commission_lines: CommissionLineTable;
}

/** What a query function takes as its first argument: the database or an open transaction. */
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
export type DbOrTx = Kysely<Database> | Transaction<Database>;
