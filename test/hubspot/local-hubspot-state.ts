import { RateLimitEnforcer } from './local-hubspot-rate-limit.ts';

/**
 * The local HubSpot's memory: portals (accounts) with their CRM objects, properties, groups,
 * pipelines and associations, the access tokens that reach them, and what the server counted.
 * Area plugins (`local-hubspot-*.ts`) read and change it; tests use it to seed and inspect.
 */

export type ObjectType = 'contacts' | 'companies' | 'deals' | 'notes';

/** HubSpot's object type ids, accepted in paths alongside the names. */
export const OBJECT_TYPE_IDS: Record<ObjectType, string> = {
  contacts: '0-1',
  companies: '0-2',
  deals: '0-3',
  notes: '0-46',
};

export function parseObjectType(raw: string): ObjectType | undefined {
  const value = raw.toLowerCase();
  for (const [name, id] of Object.entries(OBJECT_TYPE_IDS) as [ObjectType, string][]) {
    if (
      value === name ||
      value === id ||
      `${value}s` === name ||
      (value === 'company' && name === 'companies')
    )
      return name;
  }
  return undefined;
}

export interface CrmObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
  description: string;
  options: { label: string; value: string; displayOrder?: number; hidden?: boolean }[];
  displayOrder: number;
  hasUniqueValue: boolean;
  hubspotDefined: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface PropertyGroup {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

export interface PipelineStage {
  id: string;
  label: string;
  displayOrder: number;
  metadata: Record<string, string>;
}

export interface Pipeline {
  id: string;
  label: string;
  displayOrder: number;
  stages: PipelineStage[];
}

/** HubSpot-defined association types: id → [from, to, inverse id, label]. */
export const ASSOCIATION_TYPES: Record<number, [ObjectType, ObjectType, number, string | null]> = {
  1: ['contacts', 'companies', 2, 'Primary'],
  2: ['companies', 'contacts', 1, 'Primary'],
  279: ['contacts', 'companies', 280, null],
  280: ['companies', 'contacts', 279, null],
  3: ['deals', 'contacts', 4, null],
  4: ['contacts', 'deals', 3, null],
  5: ['deals', 'companies', 6, 'Primary'],
  6: ['companies', 'deals', 5, 'Primary'],
  341: ['deals', 'companies', 342, null],
  342: ['companies', 'deals', 341, null],
  213: ['deals', 'notes', 214, null],
  214: ['notes', 'deals', 213, null],
  190: ['notes', 'contacts', 202, null],
  202: ['contacts', 'notes', 190, null],
};

/** The default association type between two object types (what `associations/default` makes). */
export const DEFAULT_ASSOCIATION: Partial<Record<`${ObjectType}:${ObjectType}`, number>> = {
  'deals:companies': 341,
  'companies:deals': 342,
  'deals:contacts': 3,
  'contacts:deals': 4,
  'contacts:companies': 279,
  'companies:contacts': 280,
  'notes:deals': 214,
  'deals:notes': 213,
};

/** A change to a CRM object, for listeners (the webhooks plugin sends them as webhook events). */
export interface ObjectChange {
  portalId: number;
  objectType: ObjectType;
  objectId: string;
  kind: 'creation' | 'propertyChange' | 'deletion' | 'restore';
  propertyName?: string;
  propertyValue?: string | null;
  occurredAt: number;
  /** `INTEGRATION` for API writes (with the app id as sourceId), `CRM` for a user in HubSpot. */
  changeSource: 'INTEGRATION' | 'CRM';
  sourceId: string;
}

export class Portal {
  readonly objects: Record<ObjectType, Map<string, CrmObject>> = {
    contacts: new Map(),
    companies: new Map(),
    deals: new Map(),
    notes: new Map(),
  };
  readonly properties: Record<ObjectType, Map<string, PropertyDefinition>>;
  readonly groups: Record<ObjectType, Map<string, PropertyGroup>>;
  readonly pipelines: Pipeline[] = [defaultDealPipeline()];
  /** `${fromType}:${fromId}` → toType:toId → set of association type ids. */
  readonly associations = new Map<string, Map<string, Set<number>>>();
  private nextObjectId = 1000;

  constructor(
    readonly portalId: number,
    readonly currency = 'USD',
    readonly timeZone = 'US/Eastern',
  ) {
    this.properties = {
      contacts: builtInProperties('contacts'),
      companies: builtInProperties('companies'),
      deals: builtInProperties('deals'),
      notes: builtInProperties('notes'),
    };
    this.groups = {
      contacts: builtInGroups('contactinformation'),
      companies: builtInGroups('companyinformation'),
      deals: builtInGroups('dealinformation'),
      notes: builtInGroups('engagement'),
    };
  }

  newId(): string {
    this.nextObjectId += 1 + Math.floor(Math.random() * 3);
    return String(this.nextObjectId);
  }

  associate(fromType: ObjectType, fromId: string, toType: ObjectType, toId: string, typeId: number): void {
    const inverse = ASSOCIATION_TYPES[typeId]?.[2];
    this.addEdge(fromType, fromId, toType, toId, typeId);
    if (inverse !== undefined) this.addEdge(toType, toId, fromType, fromId, inverse);
  }

  private addEdge(fromType: ObjectType, fromId: string, toType: ObjectType, toId: string, typeId: number) {
    const key = `${fromType}:${fromId}`;
    let edges = this.associations.get(key);
    if (!edges) {
      edges = new Map();
      this.associations.set(key, edges);
    }
    const target = `${toType}:${toId}`;
    const types = edges.get(target) ?? new Set<number>();
    types.add(typeId);
    edges.set(target, types);
  }

  associated(fromType: ObjectType, fromId: string, toType: ObjectType): { id: string; types: number[] }[] {
    const edges = this.associations.get(`${fromType}:${fromId}`);
    if (!edges) return [];
    const out: { id: string; types: number[] }[] = [];
    for (const [target, types] of edges) {
      const [type, id] = target.split(':') as [ObjectType, string];
      if (type === toType && !this.objects[toType].get(id)?.archived) out.push({ id, types: [...types] });
    }
    return out;
  }
}

export interface TokenGrant {
  portalId: number;
  expiresAt: number;
  scopes: string[];
}

export interface LocalHubspotOptions {
  /** Requests per 10 s rolling window per portal (OAuth apps: 110). */
  tenSecondlyLimit?: number;
  /** CRM search requests per second per token. */
  searchPerSecond?: number;
  /** The app id our writes are attributed to in change events. */
  appId?: number;
}

export class LocalHubspotState {
  readonly limiter: RateLimitEnforcer;
  readonly portals = new Map<number, Portal>();
  readonly tokens = new Map<string, TokenGrant>();
  readonly listeners: ((change: ObjectChange) => void)[] = [];
  /** Failures to answer instead of the real response (tests of retries): first match is used up. */
  readonly faults: { method: string; path: RegExp; status: number; times: number }[] = [];
  readonly metrics = { requests: 0, rateLimited: 0, searchRequests: 0, byRoute: new Map<string, number>() };
  readonly tenSecondlyLimit: number;
  readonly searchPerSecond: number;
  readonly appId: number;

  constructor(options: LocalHubspotOptions = {}) {
    this.tenSecondlyLimit = options.tenSecondlyLimit ?? 110;
    this.searchPerSecond = options.searchPerSecond ?? 4;
    this.appId = options.appId ?? 54321;
    this.limiter = new RateLimitEnforcer(this.tenSecondlyLimit, this.searchPerSecond);
  }

  portal(portalId: number): Portal {
    let portal = this.portals.get(portalId);
    if (!portal) {
      portal = new Portal(portalId);
      this.portals.set(portalId, portal);
    }
    return portal;
  }

  /** An access token for a portal, as the OAuth plugin issues them (tests may issue directly). */
  issueToken(portalId: number, ttlMs = 30 * 60_000, scopes: string[] = []): string {
    this.portal(portalId);
    const token = `CO${portalId}${randomChars(48)}`;
    this.tokens.set(token, { portalId, expiresAt: Date.now() + ttlMs, scopes });
    return token;
  }

  /** The next `times` requests matching `method` and `path` answer `status` (HubSpot's error body). */
  failNext(method: string, path: RegExp, status = 502, times = 1): void {
    this.faults.push({ method, path, status, times });
  }

  takeFault(method: string, url: string): number | undefined {
    const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(url));
    if (!fault) return undefined;
    fault.times -= 1;
    return fault.status;
  }

  emit(change: ObjectChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** Creates an object directly, as a user would in HubSpot (no request, no rate limit). */
  seed(
    portalId: number,
    type: ObjectType,
    properties: Record<string, string | null>,
    at = new Date(),
  ): CrmObject {
    const portal = this.portal(portalId);
    const id = portal.newId();
    const iso = at.toISOString();
    const object: CrmObject = {
      id,
      properties: { ...properties, hs_object_id: id, createdate: iso, [lastModifiedProperty(type)]: iso },
      createdAt: iso,
      updatedAt: iso,
      archived: false,
    };
    portal.objects[type].set(id, object);
    return object;
  }

  /** Changes an object as a user in HubSpot would (change events say `CRM`). */
  userUpdate(
    portalId: number,
    type: ObjectType,
    id: string,
    properties: Record<string, string | null>,
  ): CrmObject {
    const object = this.portal(portalId).objects[type].get(id);
    if (!object) throw new Error(`no ${type} ${id} in portal ${portalId}`);
    const now = new Date();
    Object.assign(object.properties, properties, { [lastModifiedProperty(type)]: now.toISOString() });
    object.updatedAt = now.toISOString();
    for (const [name, value] of Object.entries(properties)) {
      this.emit({
        portalId,
        objectType: type,
        objectId: id,
        kind: 'propertyChange',
        propertyName: name,
        propertyValue: value,
        occurredAt: now.getTime(),
        changeSource: 'CRM',
        sourceId: 'userId:1001',
      });
    }
    return object;
  }
}

export function lastModifiedProperty(type: ObjectType): string {
  return type === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

function randomChars(n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

function defaultDealPipeline(): Pipeline {
  const stage = (id: string, label: string, order: number, probability: string, closed = false) => ({
    id,
    label,
    displayOrder: order,
    metadata: { isClosed: String(closed), probability },
  });
  return {
    id: 'default',
    label: 'Sales Pipeline',
    displayOrder: 0,
    stages: [
      stage('appointmentscheduled', 'Appointment Scheduled', 0, '0.2'),
      stage('qualifiedtobuy', 'Qualified To Buy', 1, '0.4'),
      stage('presentationscheduled', 'Presentation Scheduled', 2, '0.6'),
      stage('decisionmakerboughtin', 'Decision Maker Bought-In', 3, '0.8'),
      stage('contractsent', 'Contract Sent', 4, '0.9'),
      stage('closedwon', 'Closed Won', 5, '1.0', true),
      stage('closedlost', 'Closed Lost', 6, '0.0', true),
    ],
  };
}

const BUILT_IN: Record<ObjectType, [string, string, string][]> = {
  deals: [
    ['dealname', 'string', 'text'],
    ['dealstage', 'enumeration', 'radio'],
    ['pipeline', 'enumeration', 'select'],
    ['amount', 'number', 'number'],
    ['deal_currency_code', 'enumeration', 'select'],
    ['closedate', 'datetime', 'date'],
    ['hubspot_owner_id', 'enumeration', 'select'],
    ['description', 'string', 'textarea'],
  ],
  companies: [
    ['name', 'string', 'text'],
    ['domain', 'string', 'text'],
    ['website', 'string', 'text'],
    ['hubspot_owner_id', 'enumeration', 'select'],
  ],
  contacts: [
    ['email', 'string', 'text'],
    ['firstname', 'string', 'text'],
    ['lastname', 'string', 'text'],
    ['company', 'string', 'text'],
    ['hubspot_owner_id', 'enumeration', 'select'],
  ],
  notes: [
    ['hs_timestamp', 'datetime', 'date'],
    ['hs_note_body', 'string', 'html'],
    ['hubspot_owner_id', 'enumeration', 'select'],
  ],
};

const READ_ONLY: [string, string, string][] = [
  ['hs_object_id', 'number', 'number'],
  ['createdate', 'datetime', 'date'],
  ['hs_lastmodifieddate', 'datetime', 'date'],
  ['lastmodifieddate', 'datetime', 'date'],
];

function builtInProperties(type: ObjectType): Map<string, PropertyDefinition> {
  const map = new Map<string, PropertyDefinition>();
  const at = '2019-08-06T02:41:52.000Z';
  const group =
    type === 'deals'
      ? 'dealinformation'
      : type === 'companies'
        ? 'companyinformation'
        : type === 'contacts'
          ? 'contactinformation'
          : 'engagement';
  [...BUILT_IN[type], ...READ_ONLY].forEach(([name, kind, fieldType], index) => {
    map.set(name, {
      name,
      label: name,
      type: kind,
      fieldType,
      groupName: group,
      description: '',
      options: [],
      displayOrder: index,
      hasUniqueValue: type === 'contacts' && name === 'email',
      hubspotDefined: true,
      createdAt: at,
      updatedAt: at,
    });
  });
  return map;
}

function builtInGroups(name: string): Map<string, PropertyGroup> {
  return new Map([[name, { name, label: name, displayOrder: -1, archived: false }]]);
}

export const READ_ONLY_PROPERTIES = new Set(READ_ONLY.map(([name]) => name));
