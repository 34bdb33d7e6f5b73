import { type CrmDeal, type CrmStage, type DealAttribution, stageCategoryOf } from '../crm-connector.ts';

/** Our deal properties live in one group, so admins see them together on the deal record. */
export const PROPERTY_GROUP = { name: 'partnerloop', label: 'PartnerLoop', displayOrder: -1 };

export const PROP = {
  partner: 'partnerloop_partner',
  partnerId: 'partnerloop_partner_id',
  registrationId: 'partnerloop_registration_id',
  registrationStatus: 'partnerloop_registration_status',
  protectedUntil: 'partnerloop_protected_until',
} as const;

const STATUS_OPTIONS = ['submitted', 'approved', 'rejected', 'won', 'lost', 'expired'];

/** The property definitions `ensureProperties` creates (HubSpot's `PropertyCreate` shape). */
export const DEAL_PROPERTIES = [
  {
    name: PROP.partner,
    label: 'Partner',
    type: 'string',
    fieldType: 'text',
    description: 'The partner credited with this deal (set by PartnerLoop).',
  },
  {
    name: PROP.partnerId,
    label: 'Partner ID',
    type: 'string',
    fieldType: 'text',
    description: "PartnerLoop's id of the partner.",
  },
  {
    name: PROP.registrationId,
    label: 'Partner registration ID',
    type: 'string',
    fieldType: 'text',
    description: 'The PartnerLoop deal registration this deal came from.',
  },
  {
    name: PROP.registrationStatus,
    label: 'Partner registration status',
    type: 'enumeration',
    fieldType: 'select',
    description: 'Submitted, approved, rejected, won, lost or expired.',
    options: STATUS_OPTIONS.map((value, displayOrder) => ({
      label: value[0]!.toUpperCase() + value.slice(1),
      value,
      displayOrder,
      hidden: false,
    })),
  },
  {
    name: PROP.protectedUntil,
    label: 'Partner protected until',
    type: 'datetime',
    fieldType: 'date',
    description: "End of the partner's protection window.",
  },
].map((property, displayOrder) => ({ ...property, groupName: PROPERTY_GROUP.name, displayOrder }));

/** The deal properties every read asks for. */
export const DEAL_READ_PROPERTIES = [
  'dealname',
  'dealstage',
  'pipeline',
  'amount',
  'deal_currency_code',
  'closedate',
  'hubspot_owner_id',
  'createdate',
  'hs_lastmodifieddate',
  ...Object.values(PROP),
];

/** Our attribution as HubSpot property values (strings; datetimes as ISO). */
export function attributionProperties(attribution: Partial<DealAttribution>): Record<string, string> {
  const out: Record<string, string> = {};
  if (attribution.partnerName !== undefined) out[PROP.partner] = attribution.partnerName;
  if (attribution.partnerId !== undefined) out[PROP.partnerId] = attribution.partnerId;
  if (attribution.registrationId !== undefined) out[PROP.registrationId] = attribution.registrationId;
  if (attribution.registrationStatus !== undefined)
    out[PROP.registrationStatus] = attribution.registrationStatus;
  if (attribution.protectedUntil !== undefined)
    out[PROP.protectedUntil] = attribution.protectedUntil ? attribution.protectedUntil.toISOString() : '';
  return out;
}

interface HubspotObject {
  id: string;
  properties: Record<string, string | null | undefined>;
  createdAt?: Date;
  updatedAt?: Date;
  archived?: boolean;
}

const text = (value: string | null | undefined) => (value === undefined || value === '' ? null : value);

export function toCrmDeal(object: HubspotObject): CrmDeal {
  const p = object.properties;
  const attribution: Partial<DealAttribution> = {};
  if (text(p[PROP.partnerId])) attribution.partnerId = p[PROP.partnerId]!;
  if (text(p[PROP.partner])) attribution.partnerName = p[PROP.partner]!;
  if (text(p[PROP.registrationId])) attribution.registrationId = p[PROP.registrationId]!;
  if (text(p[PROP.registrationStatus])) attribution.registrationStatus = p[PROP.registrationStatus]!;
  if (text(p[PROP.protectedUntil])) attribution.protectedUntil = new Date(p[PROP.protectedUntil]!);
  const modified = text(p.hs_lastmodifieddate) ?? object.updatedAt?.toISOString() ?? null;
  const created = text(p.createdate) ?? object.createdAt?.toISOString() ?? null;
  return {
    id: String(object.id),
    name: text(p.dealname),
    pipelineId: text(p.pipeline),
    stageId: text(p.dealstage),
    amount: text(p.amount),
    currency: text(p.deal_currency_code),
    closeDate: text(p.closedate),
    ownerId: text(p.hubspot_owner_id),
    attribution: Object.keys(attribution).length > 0 ? attribution : null,
    createdAt: created ? new Date(created) : null,
    modifiedAt: modified ? new Date(modified) : new Date(0),
    archived: object.archived ?? false,
  };
}

export function toCrmStage(stage: {
  id: string;
  label: string;
  displayOrder: number;
  metadata: Record<string, string>;
}): CrmStage {
  const number = Number(stage.metadata.probability);
  const probability = Number.isFinite(number) && stage.metadata.probability !== undefined ? number : null;
  const isClosed = stage.metadata.isClosed === 'true';
  return {
    id: stage.id,
    label: stage.label,
    displayOrder: stage.displayOrder,
    categoryHint: stageCategoryOf({ isClosed, probability }),
    isClosed,
    isWon: null,
    probability,
  };
}
