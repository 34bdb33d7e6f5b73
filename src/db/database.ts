import type { Kysely, Transaction } from 'kysely';
import type { AuditLogTable } from '../audit/audit.table.ts';
import type { CommissionLineTable } from '../commissions/commission-line.table.ts';
import type {
  CommissionPlanTable,
  CommissionRuleTable,
  DealRevenueTable,
  FxRateTable,
} from '../commissions/commission-plan.table.ts';
import type { RetainerAgreementTable } from '../commissions/retainer-agreement.table.ts';
import type { CrmConnectionTable } from '../crm/crm-connection.table.ts';
import type { CrmOauthStateTable } from '../crm/crm-oauth-state.table.ts';
import type { CrmOwnWriteTable, CrmSyncCursorTable, CrmWriteRecordTable } from '../crm/crm-sync.table.ts';
import type { SalesforceChangeStreamTable } from '../crm/salesforce/salesforce-change-stream.table.ts';
import type { CrmStageMappingTable } from '../crm/stage-mapping.table.ts';
import type { DealAttributionTable, DealEventTable, DealTable } from '../deals/deal.table.ts';
import type { IdempotencyKeyTable } from '../http/idempotency.table.ts';
import type { InboxTable } from '../inbox/inbox.table.ts';
import type { LocalJobTable } from '../jobs/local-job.table.ts';
import type { OutboxTable } from '../jobs/outbox.table.ts';
import type { LedgerAccountTable, LedgerEntryTable, LedgerTransactionTable } from '../ledger/ledger.table.ts';
import type { PartnerLinkTable } from '../links/partner-link.table.ts';
import type { InboundAnswerTable } from '../messaging/inbound-answers.table.ts';
import type {
  InboundMessageTable,
  InboundWebhookTokenTable,
  TimelineNoteTable,
} from '../messaging/inbound-message.table.ts';
import type {
  EmailCoalesceHeadTable,
  EmailUnsubscribeTable,
  ReplyTokenTable,
  SentEmailTable,
} from '../messaging/messaging.table.ts';
import type { PartnerContactTable, PartnerTable, TierTable } from '../partners/partner.table.ts';
import type { PayoutBatchTable, PayoutMinimumOverrideTable, PayoutTable } from '../payouts/payout.table.ts';
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
  crm_write_records: CrmWriteRecordTable;
  crm_own_writes: CrmOwnWriteTable;
  crm_sync_cursors: CrmSyncCursorTable;
  deals: DealTable;
  deal_attributions: DealAttributionTable;
  deal_events: DealEventTable;
  commission_lines: CommissionLineTable;
  commission_plans: CommissionPlanTable;
  commission_rules: CommissionRuleTable;
  fx_rates: FxRateTable;
  deal_revenues: DealRevenueTable;
  payout_batches: PayoutBatchTable;
  payouts: PayoutTable;
  payout_minimum_overrides: PayoutMinimumOverrideTable;
  retainer_agreements: RetainerAgreementTable;
  crm_connections: CrmConnectionTable;
  crm_oauth_states: CrmOauthStateTable;
  crm_stage_mappings: CrmStageMappingTable;
  salesforce_change_streams: SalesforceChangeStreamTable;
  reply_tokens: ReplyTokenTable;
  sent_emails: SentEmailTable;
  email_unsubscribes: EmailUnsubscribeTable;
  email_coalesce_heads: EmailCoalesceHeadTable;
  inbound_messages: InboundMessageTable;
  inbound_webhook_tokens: InboundWebhookTokenTable;
  timeline_notes: TimelineNoteTable;
  inbound_answers: InboundAnswerTable;
}

/** What a query function takes as its first argument: the database or an open transaction. */
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
export type DbOrTx = Kysely<Database> | Transaction<Database>;
