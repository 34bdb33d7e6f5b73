import type { ColumnType, Generated } from 'kysely';

export type InboundAnswerKind = 'registration' | 'refusal';

/** One answer per inbound message; refusals are rate-limited per address from these rows. */
export interface InboundAnswerTable {
  id: Generated<string>;
  tenant_id: string | null;
  inbound_message_id: string;
  /** Lower-cased address of the contact on file the answer went to. */
  to_address: string;
  kind: InboundAnswerKind;
  template: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}
