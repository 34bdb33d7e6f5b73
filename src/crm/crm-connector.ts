/**
 * The one interface every CRM (HubSpot now, Salesforce later) implements. Nothing outside
 * `src/crm/<vendor>/` sees a vendor's shapes: callers speak in the types below.
 *
 * Expected failures (rate limited, not found, credentials refused, CRM down) are returned as a
 * `CrmResult`, never thrown (DESIGN §5.6); a throw means a bug or an unexpected answer.
 */

export type CrmKind = 'hubspot' | 'salesforce';

export type CrmFailureKind =
  /** The CRM (or our own limiter) says wait: retry after `retryAfterMs`. */
  | 'rate_limited'
  /** The object does not exist (or was deleted/merged away). */
  | 'not_found'
  /** Credentials refused: refresh or reconnect (`invalid_grant` on refresh = uninstalled). */
  | 'auth'
  /** The tenant is not connected to this CRM (no tokens, disconnected, uninstalled). */
  | 'not_connected'
  /** The CRM rejected our input (validation error, missing property, …). */
  | 'invalid'
  /** A conflict on a unique value (e.g. the property or object already exists). */
  | 'conflict'
  /** 5xx, timeout, connection error: transient, retry later. */
  | 'unavailable';

export interface CrmFailure {
  kind: CrmFailureKind;
  message: string;
  /** HTTP status when there was one. */
  status?: number;
  /** When the caller may try again (rate limits, Retry-After). */
  retryAfterMs?: number;
  /** The vendor's error category/code (e.g. HubSpot `VALIDATION_ERROR`, `invalid_grant`). */
  code?: string;
}

export type CrmResult<T> = { ok: true; value: T } | { ok: false; error: CrmFailure };

export const ok = <T>(value: T): CrmResult<T> => ({ ok: true, value });
export const fail = (error: CrmFailure): CrmResult<never> => ({ ok: false, error });

// ---------------------------------------------------------------------------------------------
// Credentials (app-level: no tenant yet during the install)

export interface CrmCredentials {
  accessToken: string;
  refreshToken: string;
  /** Absolute expiry of the access token (from `expires_in`; Salesforce: unknown → null). */
  expiresAt: Date | null;
  /** The CRM account: HubSpot portal (hub) id, Salesforce org id. Tenants are keyed by it. */
  accountId: string;
  scopes: string[];
  /** Salesforce `instance_url`; HubSpot: null. */
  instanceUrl: string | null;
  /** Who authorised the install, when the token answer says (Salesforce: the user id in `id`). */
  userId?: string | null;
}

export interface CrmAuth {
  readonly kind: CrmKind;
  /** The authorize URL the admin is sent to. */
  authorizeUrl(input: { redirectUri: string; state: string; codeChallenge?: string }): string;
  exchangeCode(input: {
    code: string;
    redirectUri: string;
    codeVerifier?: string;
  }): Promise<CrmResult<CrmCredentials>>;
  /** `auth` failure with code `invalid_grant` means the app was uninstalled / access revoked. */
  refreshCredentials(refreshToken: string): Promise<CrmResult<CrmCredentials>>;
  revoke(credentials: { refreshToken: string }): Promise<CrmResult<void>>;
}

// ---------------------------------------------------------------------------------------------
// Reading the CRM

/** What a stage means for commissions; a hint from the CRM's metadata, the admin may override it. */
export type StageCategory = 'open' | 'won' | 'lost';

export interface CrmStage {
  id: string;
  label: string;
  displayOrder: number;
  /** From the CRM's metadata (HubSpot: `isClosed` + `probability`; Salesforce: IsClosed/IsWon). */
  categoryHint: StageCategory;
  isClosed: boolean;
  /** Whether a closed stage is won, when the CRM says (Salesforce `IsWon`); null when it does not (HubSpot). */
  isWon: boolean | null;
  /** 0..1 when the CRM says. */
  probability: number | null;
}

/**
 * The one reading of a CRM stage's metadata, for every CRM and every caller: a closed stage the CRM
 * calls won or not won (Salesforce) is won or lost; otherwise closed with probability 1 is won,
 * closed with 0 is lost, anything open is open. A closed stage with another probability says
 * neither; it stays open (no commission moves) until the admin decides in the stage mapping.
 */
export function stageCategoryOf(
  stage: Pick<CrmStage, 'isClosed' | 'probability'> & { isWon?: boolean | null },
): StageCategory {
  if (!stage.isClosed) return 'open';
  if (stage.isWon === true) return 'won';
  if (stage.isWon === false) return 'lost';
  if (stage.probability === 1) return 'won';
  if (stage.probability === 0) return 'lost';
  return 'open';
}

export interface CrmPipeline {
  id: string;
  label: string;
  displayOrder: number;
  stages: CrmStage[];
}

/** Our attribution, as stored in the CRM's custom properties/fields on the deal. */
export interface DealAttribution {
  partnerId: string;
  partnerName: string;
  registrationId: string;
  registrationStatus: string;
  protectedUntil: Date | null;
}

/** A CRM deal (HubSpot deal, Salesforce opportunity) in vendor-neutral terms. */
export interface CrmDeal {
  id: string;
  name: string | null;
  pipelineId: string | null;
  stageId: string | null;
  /** Decimal string as the CRM holds it (e.g. "12500.50"): converted to minor units by the caller. */
  amount: string | null;
  /** ISO 4217 when the CRM says (HubSpot `deal_currency_code`), else null (portal default). */
  currency: string | null;
  /** ISO date-time. */
  closeDate: string | null;
  ownerId: string | null;
  /** Our properties; null when the deal carries none of them. */
  attribution: Partial<DealAttribution> | null;
  createdAt: Date | null;
  /** The CRM's own last-modified instant: the reconciliation cursor. */
  modifiedAt: Date;
  archived: boolean;
}

export interface CrmCompany {
  id: string;
  name: string | null;
  domain: string | null;
}

export interface CrmContact {
  id: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
}

/** What the CRM knows about a prospect: companies by domain, contacts by email, their deals. */
export interface CrmProspectMatch {
  companies: CrmCompany[];
  contacts: CrmContact[];
  deals: CrmDeal[];
}

// ---------------------------------------------------------------------------------------------
// Writing to the CRM

export interface CreateOrLinkDealInput {
  /** Our registration: the idempotency key (a retry finds the deal made by the first run). */
  registrationId: string;
  dealName: string;
  /** Minor units of `currency`; the connector converts to the CRM's decimal. */
  amount: { minor: bigint; currency: string } | null;
  closeDate: string | null;
  /** Stage/pipeline for a new deal; the CRM's default pipeline and first open stage when null. */
  pipelineId: string | null;
  stageId: string | null;
  company: { name: string; domain: string | null };
  contact: { email: string; name: string | null } | null;
  attribution: DealAttribution;
  /** Link to this deal instead of searching (e.g. the deal the conflict check found). */
  existingDealId?: string | null;
}

export interface LinkedDeal {
  dealId: string;
  companyId: string | null;
  contactId: string | null;
  /** Which objects this call created (the others were found and linked). */
  created: { deal: boolean; company: boolean; contact: boolean };
}

export interface CrmNoteInput {
  dealId: string;
  /** HTML allowed (HubSpot `hs_note_body`); escape user text before passing it. */
  bodyHtml: string;
  /** Position on the timeline. */
  at: Date;
}

// ---------------------------------------------------------------------------------------------
// Change notifications (webhooks, CDC) → vendor-neutral deal changes

/**
 * `gap`: the CRM could not say what changed (Salesforce GAP_* and GAP_OVERFLOW events): read the
 * deal again, or every deal modified since `occurredAt` when `dealId` is `*`.
 */
export type CrmDealChangeKind = 'created' | 'updated' | 'deleted' | 'merged' | 'restored' | 'gap';

/**
 * One change the CRM told us about, before it is applied to the deals mirror. The deals feature
 * turns these (and `CrmDeal` snapshots from reconciliation) into its normalized deal events.
 */
export interface CrmDealChange {
  /** The CRM's event id, unique per account (dedupe). */
  sourceEventId: string;
  dealId: string;
  kind: CrmDealChangeKind;
  occurredAt: Date;
  /** The neutral fields that changed, when the notification says (stage, amount, …). */
  changes: Partial<
    Pick<CrmDeal, 'name' | 'stageId' | 'pipelineId' | 'amount' | 'currency' | 'closeDate' | 'ownerId'>
  >;
  /** Merges: the deal ids merged into `dealId`. */
  mergedDealIds?: string[];
  /** The change is our own write coming back (skip it: no echo loops). */
  ownWrite: boolean;
}

/** Turns a vendor's raw notification batch into deal changes (pure: no I/O). */
export interface CrmChangeNormalizer {
  toDealChanges(raw: readonly unknown[]): CrmDealChange[];
}

// ---------------------------------------------------------------------------------------------
// The connector: one tenant's connection

export interface ModifiedDealsPage {
  deals: CrmDeal[];
  /** Pass back to get the next page; null at the end. */
  after: string | null;
  /** The CRM's total for the query, when it says. */
  total: number | null;
}

export interface CrmConnector {
  readonly kind: CrmKind;
  /** The CRM account (portal id / org id) this connection is for. */
  readonly accountId: string | null;
  /** Calls this connector made, and how many the CRM (or our limiter) held back. */
  readonly stats: { calls: number; rateLimited: number };
  /**
   * Most results one modified-since query pages through (HubSpot search: 10,000); past it the
   * caller starts a new query from the newest instant read. Null: no cap.
   */
  readonly searchResultCap: number | null;

  /**
   * Creates our custom properties/fields (and their group) when missing and the CRM lets an app
   * create them (HubSpot); reports the ones still missing (Salesforce: custom fields are metadata,
   * deployed from crm-extensions/salesforce). Safe to call repeatedly.
   */
  ensureProperties(): Promise<CrmResult<{ created: string[]; missing: string[] }>>;
  /** Our custom properties/fields the CRM lacks (or has in a shape we cannot use); reads only. */
  missingProperties(): Promise<CrmResult<string[]>>;
  listPipelines(): Promise<CrmResult<CrmPipeline[]>>;

  /** Companies by domain, contacts by email, and the deals associated with either. */
  findProspect(domain: string | null, email: string | null): Promise<CrmResult<CrmProspectMatch>>;
  /**
   * `ConflictSource` (registrations): open deals for the domain/email, `partner` when the deal
   * carries our attribution, else `direct`. A CRM failure answers [] (the check goes on without it).
   */
  findOpenDeals(
    domain: string | null,
    email: string | null,
  ): Promise<{ dealId: string; ownerType: 'direct' | 'partner' }[]>;
  /** The same, saying when the CRM could not answer (a registration records `crm_check: unavailable`). */
  checkOpenDeals(
    domain: string | null,
    email: string | null,
  ): Promise<CrmResult<{ dealId: string; ownerType: 'direct' | 'partner' }[]>>;

  /** Finds (by our registration id, then by company/contact) or creates deal + company + contact. */
  createOrLinkDeal(input: CreateOrLinkDealInput): Promise<CrmResult<LinkedDeal>>;
  updateDealAttribution(dealId: string, attribution: Partial<DealAttribution>): Promise<CrmResult<void>>;
  /** `idempotencyKey` is remembered with the note id, so a retry does not write a second note. */
  addDealNote(note: CrmNoteInput, idempotencyKey: string): Promise<CrmResult<{ noteId: string }>>;

  getDeal(dealId: string): Promise<CrmResult<CrmDeal>>;
  getDeals(dealIds: string[]): Promise<CrmResult<CrmDeal[]>>;
  /** Deals modified at or after `since`, oldest first (reconciliation, backfill with since=epoch). */
  listDealsModifiedSince(
    since: Date,
    after: string | null,
    limit?: number,
  ): Promise<CrmResult<ModifiedDealsPage>>;
  /** Every deal, page by page (the full backfill: not bound by search's 10,000-result cap). */
  listDeals(after: string | null, limit?: number): Promise<CrmResult<ModifiedDealsPage>>;
}

/** Everything a vendor provides, reached through `crm-vendors.ts`. */
export interface CrmVendor {
  readonly kind: CrmKind;
  auth: CrmAuth;
  normalizer: CrmChangeNormalizer;
}
