import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export type InboundChannel = 'http' | 'mailgun' | 'postmark' | 'smtp';
export type InboundStatus = 'received' | 'processed' | 'rejected' | 'review';

export interface InboundMessageTable {
  id: Generated<string>;
  /** Known once the reply token resolves. */
  tenant_id: string | null;
  channel: InboundChannel;
  /** Message-ID, or `sha256:<hex>` of the raw message when it has none. */
  dedup_key: string;
  message_id: string | null;
  raw: Buffer;
  size_bytes: number;
  envelope: ColumnType<InboundEnvelope, string | undefined, string>;
  status: ColumnType<InboundStatus, InboundStatus | undefined, InboundStatus>;
  /** Why it was rejected or held for review; what it became otherwise. */
  reason: string | null;
  from_address: string | null;
  subject: string | null;
  reply_token_id: string | null;
  contact_id: string | null;
  registration_id: string | null;
  reply_text: string | null;
  quoted_text: string | null;
  received_at: ColumnType<Date, Date | undefined, never>;
  processed_at: Date | null;
}

/** What the transport knew beyond the message itself. */
export interface InboundEnvelope {
  mailFrom?: string | null;
  rcptTo?: string[];
  remoteAddress?: string | null;
  /** The provider's own id for the delivery (Mailgun token, Postmark MessageID). */
  providerEventId?: string | null;
  /** Set when the transport refused the message before it was whole (e.g. over the size limit). */
  refused?: string;
}

export interface InboundWebhookTokenTable {
  provider: string;
  token: string;
  seen_at: ColumnType<Date, Date | undefined, never>;
}

export type TimelineNoteSource = 'email' | 'registration' | 'rep';

export interface TimelineNoteTable {
  id: Generated<string>;
  tenant_id: string;
  registration_id: string | null;
  deal_id: string | null;
  source: TimelineNoteSource;
  author_contact_id: string | null;
  author_name: string;
  body: string;
  inbound_message_id: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  /** Filled by the CRM connector once the note is on the CRM deal's timeline. */
  crm_note_id: string | null;
  crm_synced_at: Date | null;
}

export type InboundMessageRow = Selectable<InboundMessageTable>;
export type NewInboundMessageRow = Insertable<InboundMessageTable>;
export type TimelineNoteRow = Selectable<TimelineNoteTable>;
