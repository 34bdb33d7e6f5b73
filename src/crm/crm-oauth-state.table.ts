import type { ColumnType, Selectable } from 'kysely';

/**
 * An install between its redirect and its callback, keyed by the OAuth state's nonce: what must stay
 * on our side (the PKCE code verifier, sealed; which login host) so any replica can finish it.
 */
export interface CrmOauthStateTable {
  state: string;
  crm_kind: 'hubspot' | 'salesforce';
  code_verifier: string;
  login_url: string;
  expires_at: Date;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type CrmOauthStateRow = Selectable<CrmOauthStateTable>;
