import type { CrmDeal, CrmStage, DealAttribution } from '../crm-connector.ts';
import { stageCategoryOf } from '../crm-connector.ts';

/**
 * Our custom fields on Opportunity. Salesforce custom fields are metadata: an app cannot create
 * them through the REST API, so they ship in `crm-extensions/salesforce` (an SFDX project the
 * admin deploys) and the install reports the ones missing. `package-metadata.test.ts` checks that
 * the project defines exactly these.
 */
export const SF_FIELD = {
  partner: 'Partner__c',
  partnerId: 'Partner_Id__c',
  registrationId: 'Registration_Id__c',
  registrationStatus: 'Registration_Status__c',
  protectedUntil: 'Protected_Until__c',
} as const;

export const OUR_FIELDS = Object.values(SF_FIELD);

/** Salesforce has one stage list for every opportunity (the OpportunityStage picklist): one "pipeline". */
export const OPPORTUNITY_PIPELINE = { id: 'Opportunity', label: 'Opportunity stages' } as const;

/** Standard Opportunity fields every read asks for; CurrencyIsoCode only exists in multi-currency orgs. */
export const OPPORTUNITY_STANDARD_FIELDS = [
  'Id',
  'Name',
  'StageName',
  'Amount',
  'CloseDate',
  'OwnerId',
  'AccountId',
  'IsClosed',
  'IsWon',
  'IsDeleted',
  'CreatedDate',
  'SystemModstamp',
];

interface DescribedField {
  name: string;
  type?: string;
  externalId?: boolean;
  unique?: boolean;
}

/**
 * Our fields the org lacks, or has in a shape we cannot use (a registration id that is not a
 * unique External ID cannot take the upsert that makes retries idempotent), each with why.
 */
export function missingFields(describedFields: readonly DescribedField[]): string[] {
  const byName = new Map(describedFields.map((f) => [f.name, f]));
  const missing: string[] = [];
  for (const name of OUR_FIELDS) {
    const field = byName.get(name);
    if (!field) missing.push(name);
    else if (name === SF_FIELD.registrationId && !(field.externalId && field.unique))
      missing.push(`${name} (must be a unique External ID)`);
  }
  return missing;
}

/** The Opportunity fields to read in this org: the standard ones, CurrencyIsoCode and ours where they exist. */
export function readableFields(describedFields: readonly DescribedField[]): string[] {
  const names = new Set(describedFields.map((f) => f.name));
  return [
    ...OPPORTUNITY_STANDARD_FIELDS,
    ...(names.has('CurrencyIsoCode') ? ['CurrencyIsoCode'] : []),
    ...OUR_FIELDS.filter((name) => names.has(name)),
  ];
}

/** Our attribution as Opportunity field values (a cleared date is null). */
export function attributionFields(attribution: Partial<DealAttribution>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (attribution.partnerName !== undefined) out[SF_FIELD.partner] = attribution.partnerName.slice(0, 255);
  if (attribution.partnerId !== undefined) out[SF_FIELD.partnerId] = attribution.partnerId;
  if (attribution.registrationId !== undefined) out[SF_FIELD.registrationId] = attribution.registrationId;
  if (attribution.registrationStatus !== undefined)
    out[SF_FIELD.registrationStatus] = attribution.registrationStatus;
  if (attribution.protectedUntil !== undefined)
    out[SF_FIELD.protectedUntil] = attribution.protectedUntil
      ? attribution.protectedUntil.toISOString()
      : null;
  return out;
}

/** The host of an Account's Website (free text: `https://www.acme.co.uk/about`, `acme.co.uk`), lowercased, without `www.`. */
export function websiteHost(website: string | null | undefined): string | null {
  const text = website?.trim();
  if (!text) return null;
  try {
    const host = new URL(
      /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`,
    ).hostname.toLowerCase();
    return host.replace(/^www\./, '').replace(/\.$/, '') || null;
  } catch {
    return null;
  }
}

/** Whether a Website is on the (normalized) domain: the domain itself or a sub-domain of it. */
export function websiteOnDomain(website: string | null | undefined, domain: string): boolean {
  const host = websiteHost(website);
  return host !== null && (host === domain || host.endsWith(`.${domain}`));
}

export type OpportunityRecord = Record<string, unknown> & { Id: string };

const text = (value: unknown): string | null =>
  value === null || value === undefined || value === '' ? null : String(value);

/** Salesforce's JSON number as the decimal string CrmDeal carries (String() of a currency amount has no exponent). */
const decimal = (value: unknown): string | null =>
  typeof value === 'number' && Number.isFinite(value) ? String(value) : text(value);

export function toCrmDeal(record: OpportunityRecord): CrmDeal {
  const attribution: Partial<DealAttribution> = {};
  const partnerId = text(record[SF_FIELD.partnerId]);
  const partnerName = text(record[SF_FIELD.partner]);
  const registrationId = text(record[SF_FIELD.registrationId]);
  const registrationStatus = text(record[SF_FIELD.registrationStatus]);
  const protectedUntil = text(record[SF_FIELD.protectedUntil]);
  if (partnerId) attribution.partnerId = partnerId;
  if (partnerName) attribution.partnerName = partnerName;
  if (registrationId) attribution.registrationId = registrationId;
  if (registrationStatus) attribution.registrationStatus = registrationStatus;
  if (protectedUntil) attribution.protectedUntil = new Date(protectedUntil);
  const created = text(record.CreatedDate);
  const modified = text(record.SystemModstamp);
  return {
    id: record.Id,
    name: text(record.Name),
    // One stage list per org: deals carry no pipeline (the stage mapping files it under OPPORTUNITY_PIPELINE).
    pipelineId: null,
    stageId: text(record.StageName),
    amount: decimal(record.Amount),
    currency: text(record.CurrencyIsoCode),
    closeDate: text(record.CloseDate),
    ownerId: text(record.OwnerId),
    attribution: Object.keys(attribution).length > 0 ? attribution : null,
    createdAt: created ? new Date(created) : null,
    modifiedAt: modified ? new Date(modified) : new Date(0),
    archived: record.IsDeleted === true,
  };
}

/** An OpportunityStage row (IsClosed, IsWon, DefaultProbability in percent) as a neutral stage. */
export function toCrmStage(row: Record<string, unknown>): CrmStage {
  const isClosed = row.IsClosed === true;
  const isWon = isClosed ? row.IsWon === true : null;
  const percent = typeof row.DefaultProbability === 'number' ? row.DefaultProbability : null;
  const probability = percent === null ? null : percent / 100;
  return {
    id: String(row.ApiName ?? row.MasterLabel),
    label: String(row.MasterLabel ?? row.ApiName),
    displayOrder: typeof row.SortOrder === 'number' ? row.SortOrder : 0,
    categoryHint: stageCategoryOf({ isClosed, isWon, probability }),
    isClosed,
    isWon,
    probability,
  };
}
