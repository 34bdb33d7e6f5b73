import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import { SAME_COMPANY_SIMILARITY } from './company-key.ts';
import type { CheckOutcome } from './registration.table.ts';

/**
 * Where the CRM tells us about prospects it already knows. The CRM feature passes its connector
 * (HubSpot, Salesforce) to submitRegistration; without one, only registrations are compared.
 */
export interface ConflictSource {
  /** Open deals whose company has this domain, or whose contact has this email. */
  findOpenDeals(
    domain: string | null,
    email: string | null,
  ): Promise<{ dealId: string; ownerType: 'direct' | 'partner' }[]>;
}

/** What identifies a prospect, normalised (registrable domain, lower-cased email, company key). */
export interface Prospect {
  tenantId: string;
  partnerId: string;
  domain: string | null;
  contactEmail: string | null;
  companyKey: string;
}

export type Signal = 'domain' | 'email' | 'company_name' | 'crm_open_deal';

export interface ConflictCheck {
  outcome: CheckOutcome;
  relatedRegistrationId: string | null;
  /** Stored as check_details: which signals matched, the name similarity, the CRM deal. */
  details: Record<string, unknown>;
}

/**
 * Serialises submissions about the same prospect: one transaction-scoped advisory lock per
 * (tenant, domain), (tenant, email) and (tenant, company key), taken in sorted order so two
 * submissions sharing several keys cannot deadlock. Held until commit, so the second of two
 * concurrent submissions runs its conflict query after the first's row is visible (READ COMMITTED
 * takes a fresh snapshot per statement). Fuzzy-only matches with a different key are not serialised:
 * they are caught from the next submission on.
 *
 * The same statement sets pg_trgm's similarity threshold for the rest of the transaction, which
 * detectConflicts' name search (`%`) reads: one round trip for both, as every submission needs both.
 */
export async function lockProspect(tx: Tx, prospect: Prospect): Promise<void> {
  const keys = [
    prospect.domain && `registration:${prospect.tenantId}:domain:${prospect.domain}`,
    prospect.contactEmail && `registration:${prospect.tenantId}:email:${prospect.contactEmail}`,
    prospect.companyKey && `registration:${prospect.tenantId}:company:${prospect.companyKey}`,
  ]
    .filter((key): key is string => Boolean(key))
    .sort();
  // pg_advisory_xact_lock is volatile, so it runs row by row after the ordering, in the array's order.
  await sql`
    select set_config('pg_trgm.similarity_threshold', ${String(SAME_COMPANY_SIMILARITY)}, true),
      (select count(*) from (
        select pg_advisory_xact_lock(hashtextextended(key, 0))
        from unnest(${keys}::text[]) with ordinality as k(key, position)
        order by position
      ) locked)`.execute(tx);
}

interface Match {
  registrationId: string;
  partnerId: string;
  checkOutcome: CheckOutcome;
  createdAt: Date;
  signals: Signal[];
  similarity: number;
}

/**
 * The tenant's active claims (submitted, or approved and still protected) that match the prospect:
 * same domain, same contact email, or a company key at least SAME_COMPANY_SIMILARITY alike by
 * pg_trgm's similarity (`%`, threshold set by lockProspect), found through the trigram index.
 */
async function findMatches(tx: Tx, prospect: Prospect, now: Date): Promise<Match[]> {
  const key = prospect.companyKey;
  const rows = await tx
    .selectFrom('registrations')
    .select(['id', 'partner_id', 'domain', 'contact_email', 'check_outcome', 'created_at'])
    .select([
      // An empty key has no trigrams: it resembles nothing, and `%` with it would scan the whole index.
      key ? sql<number>`similarity(company_key, ${key})`.as('similarity') : sql<number>`0`.as('similarity'),
      key ? sql<boolean>`company_key % ${key}`.as('same_name') : sql<boolean>`false`.as('same_name'),
    ])
    .where('tenant_id', '=', prospect.tenantId)
    // The first condition lets the planner use the partial indexes (status in submitted, approved).
    .where('status', 'in', ['submitted', 'approved'])
    .where((eb) => eb.or([eb('status', '=', 'submitted'), eb('protected_until', '>', now)]))
    .where((eb) => {
      const any = [];
      if (prospect.domain) any.push(eb('domain', '=', prospect.domain));
      if (prospect.contactEmail) any.push(eb('contact_email', '=', prospect.contactEmail));
      if (key) any.push(sql<boolean>`company_key % ${key}`);
      return any.length > 0 ? eb.or(any) : eb.lit(false);
    })
    .orderBy('created_at')
    .orderBy('id')
    .execute();

  return rows.map((row) => {
    const signals: Signal[] = [];
    if (prospect.domain && row.domain === prospect.domain) signals.push('domain');
    if (prospect.contactEmail && row.contact_email === prospect.contactEmail) signals.push('email');
    if (row.same_name) signals.push('company_name');
    return {
      registrationId: row.id,
      partnerId: row.partner_id,
      checkOutcome: row.check_outcome,
      createdAt: row.created_at,
      signals,
      similarity: Math.round(Number(row.similarity) * 1000) / 1000,
    };
  });
}

/**
 * Decides the check outcome of a new registration. Call it after lockProspect, in the submitting
 * transaction. First valid registration wins: the same partner's earlier claim makes this one a
 * `duplicate_of`; another partner's makes it a `conflict_with` (the standing claim preferred, then
 * the oldest); a CRM deal owned by direct sales also makes it a `conflict_with`, with its deal id.
 */
export async function detectConflicts(
  tx: Tx,
  prospect: Prospect,
  now: Date,
  crmDeals: { dealId: string; ownerType: 'direct' | 'partner' }[] = [],
): Promise<ConflictCheck> {
  const matches = await findMatches(tx, prospect, now);
  const directDeal = crmDeals.find((deal) => deal.ownerType === 'direct');
  const crm = directDeal ? { crmDealId: directDeal.dealId } : {};
  const describe = (match: Match) => ({
    signals: match.signals,
    ...(match.signals.includes('company_name') ? { similarity: match.similarity } : {}),
    matches: matches.slice(0, 10).map((m) => ({
      registrationId: m.registrationId,
      samePartner: m.partnerId === prospect.partnerId,
      signals: m.signals,
      similarity: m.similarity,
    })),
    ...crm,
  });

  const own = matches.find((m) => m.partnerId === prospect.partnerId);
  if (own)
    return { outcome: 'duplicate_of', relatedRegistrationId: own.registrationId, details: describe(own) };

  const others = matches.filter((m) => m.partnerId !== prospect.partnerId);
  const holder = others.find((m) => m.checkOutcome === 'clear') ?? others[0];
  if (holder) {
    return {
      outcome: 'conflict_with',
      relatedRegistrationId: holder.registrationId,
      details: describe(holder),
    };
  }
  if (directDeal) {
    return {
      outcome: 'conflict_with',
      relatedRegistrationId: null,
      details: { signals: ['crm_open_deal'], crmDealId: directDeal.dealId },
    };
  }
  return { outcome: 'clear', relatedRegistrationId: null, details: { signals: [] } };
}
