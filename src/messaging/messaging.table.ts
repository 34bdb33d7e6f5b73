import type { ColumnType, Generated, Selectable } from 'kysely';

export interface ReplyTokenTable {
  id: Generated<string>;
  tenant_id: string;
  /** SHA-256 (hex) of the token; the token itself is never stored in clear. */
  token_hash: string;
  /** The token sealed with the token encryption key, so a live token can be handed out again. */
  token_sealed: string | null;
  contact_id: string;
  partner_id: string;
  registration_id: string | null;
  deal_id: string | null;
  /** Which notification thread: `registration`, `deal`, `digest`, `payouts`, … */
  thread: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  expires_at: Date;
  revoked_at: Date | null;
}

export type SentEmailStatus = 'sending' | 'sent' | 'failed';

export interface SentEmailTable {
  id: Generated<string>;
  tenant_id: string;
  /** event × recipient × template. */
  idempotency_key: string;
  message_id: string;
  template: string;
  event_id: string;
  contact_id: string | null;
  to_address: string;
  subject: string;
  thread_key: string;
  reply_token_id: string | null;
  status: ColumnType<SentEmailStatus, SentEmailStatus | undefined, SentEmailStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  error: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  sent_at: Date | null;
}

export interface EmailUnsubscribeTable {
  tenant_id: string;
  contact_id: string;
  /** The kind of email (see `EMAIL_KINDS`). */
  kind: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface EmailCoalesceHeadTable {
  tenant_id: string;
  coalesce_key: string;
  event_id: string;
  occurred_at: Date;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type ReplyTokenRow = Selectable<ReplyTokenTable>;
export type SentEmailRow = Selectable<SentEmailTable>;
