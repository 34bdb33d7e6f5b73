import type { Client } from '@hubspot/api-client';
import type { Db } from '../../db/database.ts';
import { currencyExponent } from '../../portal/amount.parse.ts';
import type { Services } from '../../services.ts';
import { toDecimal } from '../crm-amount.ts';
import type {
  CreateOrLinkDealInput,
  CrmCompany,
  CrmConnector,
  CrmContact,
  CrmDeal,
  CrmNoteInput,
  CrmPipeline,
  CrmProspectMatch,
  CrmResult,
  DealAttribution,
  LinkedDeal,
  ModifiedDealsPage,
} from '../crm-connector.ts';
import { fail, ok } from '../crm-connector.ts';
import { findWriteRecords, rememberOwnWrites, saveWriteRecord } from '../crm-sync.repository.ts';
import { HubspotCaller } from './hubspot-client.ts';
import {
  attributionProperties,
  DEAL_PROPERTIES,
  DEAL_READ_PROPERTIES,
  PROP,
  PROPERTY_GROUP,
  toCrmDeal,
  toCrmStage,
} from './hubspot-properties.ts';
import { hubspotRateLimiter } from './hubspot-rate-limiter.ts';
import { getAccessToken } from './hubspot-tokens.ts';

/** HubSpot-defined association type ids (SDK `AssociationTypes`, reference §3.3). */
const ASSOCIATION = {
  primaryDealToCompany: 5,
  dealToCompany: 341,
  dealToContact: 3,
  contactToCompany: 279,
  noteToDeal: 214,
} as const;

const spec = (associationTypeId: number) =>
  ({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId }) as any;
const BATCH = 100;
const SEARCH_PAGE = 200;

/** The tenant's HubSpot connection, as the one CRM interface (tokens through `getAccessToken`). */
export function hubspotConnector(db: Db, services: Services, tenantId: string): HubspotConnector {
  return new HubspotConnector(
    db,
    tenantId,
    new HubspotCaller({
      basePath: services.config.hubspotApiBase,
      access: () => getAccessToken(db, services, tenantId),
      limiter: () => hubspotRateLimiter(services.config),
    }),
  );
}

export class HubspotConnector implements CrmConnector {
  readonly kind = 'hubspot' as const;
  accountId: string | null = null;
  /** Search answers at most 10,000 results per query. */
  readonly searchResultCap = 10_000;
  private pipelines: CrmPipeline[] | undefined;

  constructor(
    private readonly db: Db,
    private readonly tenantId: string,
    readonly caller: HubspotCaller,
  ) {}

  get stats() {
    return this.caller.stats;
  }

  private api<T>(request: (client: Client) => Promise<T>) {
    return this.caller.call('api', request);
  }

  private search<T>(request: (client: Client) => Promise<T>) {
    return this.caller.call('search', request);
  }

  async ensureProperties(): Promise<CrmResult<{ created: string[]; missing: string[] }>> {
    const groups = await this.api((c) => c.crm.properties.groupsApi.getAll('deals'));
    if (!groups.ok) return groups;
    if (!groups.value.results.some((group) => group.name === PROPERTY_GROUP.name)) {
      const group = await this.api((c) => c.crm.properties.groupsApi.create('deals', PROPERTY_GROUP));
      if (!group.ok && group.error.kind !== 'conflict') return group;
    }
    const existing = await this.api((c) => c.crm.properties.coreApi.getAll('deals'));
    if (!existing.ok) return existing;
    const have = new Set(existing.value.results.map((property) => property.name));
    const missing = DEAL_PROPERTIES.filter((property) => !have.has(property.name));
    if (missing.length === 0) return ok({ created: [], missing: [] });
    const created = await this.api((c) =>
      c.crm.properties.batchApi.create('deals', { inputs: missing as any }),
    );
    if (!created.ok) return created;
    // Another process may have created some in between: those come back as errors, and are there.
    return ok({ created: created.value.results.map((property) => property.name), missing: [] });
  }

  async missingProperties(): Promise<CrmResult<string[]>> {
    const existing = await this.api((c) => c.crm.properties.coreApi.getAll('deals'));
    if (!existing.ok) return existing;
    const have = new Set(existing.value.results.map((property) => property.name));
    return ok(DEAL_PROPERTIES.map((property) => property.name).filter((name) => !have.has(name)));
  }

  async listPipelines(): Promise<CrmResult<CrmPipeline[]>> {
    const result = await this.api((c) => c.crm.pipelines.pipelinesApi.getAll('deals'));
    if (!result.ok) return result;
    const pipelines = result.value.results
      .filter((pipeline) => !pipeline.archived)
      .map((pipeline) => ({
        id: pipeline.id,
        label: pipeline.label,
        displayOrder: pipeline.displayOrder,
        stages: pipeline.stages
          .filter((stage) => !stage.archived)
          .map((stage) => toCrmStage({ ...stage, metadata: stage.metadata ?? {} }))
          .sort((a, b) => a.displayOrder - b.displayOrder),
      }))
      .sort((a, b) => a.displayOrder - b.displayOrder);
    this.pipelines = pipelines;
    return ok(pipelines);
  }

  private async searchOne(
    type: 'companies' | 'contacts',
    property: string,
    value: string,
    properties: string[],
  ) {
    return this.search((c) =>
      c.crm[type].searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: property, operator: 'EQ' as any, value }] }],
        properties,
        limit: 10,
      }),
    );
  }

  async findProspect(domain: string | null, email: string | null): Promise<CrmResult<CrmProspectMatch>> {
    const companies: CrmCompany[] = [];
    const contacts: CrmContact[] = [];
    if (domain) {
      const found = await this.searchOne('companies', 'domain', domain, ['name', 'domain']);
      if (!found.ok) return found;
      for (const company of found.value.results)
        companies.push({
          id: company.id,
          name: company.properties.name ?? null,
          domain: company.properties.domain ?? null,
        });
    }
    if (email) {
      const found = await this.searchOne('contacts', 'email', email, ['email', 'firstname', 'lastname']);
      if (!found.ok) return found;
      for (const contact of found.value.results)
        contacts.push({
          id: contact.id,
          email: contact.properties.email ?? null,
          firstName: contact.properties.firstname ?? null,
          lastName: contact.properties.lastname ?? null,
        });
    }
    const dealIds = new Set<string>();
    for (const [from, ids] of [
      ['companies', companies.map((c) => c.id)],
      ['contacts', contacts.map((c) => c.id)],
    ] as const) {
      if (ids.length === 0) continue;
      const read = await this.api((c) =>
        c.crm.associations.v4.batchApi.getPage(from, 'deals', { inputs: ids.map((id) => ({ id })) }),
      );
      if (!read.ok) return read;
      for (const result of read.value.results) for (const to of result.to) dealIds.add(String(to.toObjectId));
    }
    const deals = await this.getDeals([...dealIds]);
    if (!deals.ok) return deals;
    return ok({ companies, contacts, deals: deals.value });
  }

  async findOpenDeals(domain: string | null, email: string | null) {
    const checked = await this.checkOpenDeals(domain, email);
    return checked.ok ? checked.value : [];
  }

  async checkOpenDeals(
    domain: string | null,
    email: string | null,
  ): Promise<CrmResult<{ dealId: string; ownerType: 'direct' | 'partner' }[]>> {
    const found = await this.findProspect(domain, email);
    if (!found.ok) return found;
    const listed: CrmPipeline[] =
      this.pipelines ?? (await this.listPipelines().then((r) => (r.ok ? r.value : [])));
    // Open in HubSpot's sense: not at a closed stage (a closed stage the admin has not classified
    // yet is not a live deal to compete with). An unknown stage counts as open.
    const closed = (deal: CrmDeal) =>
      listed.find((p) => p.id === deal.pipelineId)?.stages.find((s) => s.id === deal.stageId)?.isClosed ??
      false;
    return ok(
      found.value.deals
        .filter((deal) => !deal.archived && !closed(deal))
        .map((deal) => ({
          dealId: deal.id,
          ownerType: deal.attribution?.partnerId ? ('partner' as const) : ('direct' as const),
        })),
    );
  }

  /**
   * Idempotent under retries: each object made is recorded under the registration's key as soon as
   * HubSpot answers, and a retry reuses it; before creating, it looks for what already exists (the
   * deal carrying our registration id, the company by domain, the contact by email).
   */
  async createOrLinkDeal(input: CreateOrLinkDealInput): Promise<CrmResult<LinkedDeal>> {
    const key = `registration:${input.registrationId}`;
    const made = await findWriteRecords(this.db, this.tenantId, key);
    const created = { deal: false, company: false, contact: false };

    let companyId: string | null = made.company ?? null;
    if (!companyId && input.company.domain) {
      const found = await this.searchOne('companies', 'domain', input.company.domain, ['name', 'domain']);
      if (!found.ok) return found;
      companyId = found.value.results[0]?.id ?? null;
    }
    if (!companyId) {
      const company = await this.api((c) =>
        c.crm.companies.basicApi.create({
          properties: {
            name: input.company.name,
            ...(input.company.domain ? { domain: input.company.domain } : {}),
          },
        }),
      );
      if (!company.ok) return company;
      companyId = company.value.id;
      created.company = true;
      await saveWriteRecord(this.db, this.tenantId, key, 'company', companyId);
    }

    let contactId: string | null = made.contact ?? null;
    if (!contactId && input.contact) {
      const found = await this.searchOne('contacts', 'email', input.contact.email, ['email']);
      if (!found.ok) return found;
      contactId = found.value.results[0]?.id ?? null;
      if (!contactId) {
        const [firstname, ...rest] = (input.contact.name ?? '').trim().split(/\s+/);
        const contact = await this.api((c) =>
          c.crm.contacts.basicApi.create({
            properties: {
              email: input.contact!.email,
              ...(firstname ? { firstname } : {}),
              ...(rest.length > 0 ? { lastname: rest.join(' ') } : {}),
            },
            associations: [{ to: { id: companyId! }, types: [spec(ASSOCIATION.contactToCompany)] }],
          }),
        );
        if (contact.ok) {
          contactId = contact.value.id;
          created.contact = true;
        } else {
          // Search lags behind writes: a contact made moments ago is found by HubSpot's conflict.
          const existing =
            contact.error.kind === 'conflict' && /Existing ID: (\d+)/.exec(contact.error.message)?.[1];
          if (!existing) return contact;
          contactId = existing;
        }
        await saveWriteRecord(this.db, this.tenantId, key, 'contact', contactId);
      }
    }

    const ours = attributionProperties(input.attribution);
    let dealId: string | null = made.deal ?? input.existingDealId ?? null;
    if (!dealId) {
      const found = await this.search((c) =>
        c.crm.deals.searchApi.doSearch({
          filterGroups: [
            {
              filters: [
                { propertyName: PROP.registrationId, operator: 'EQ' as any, value: input.registrationId },
              ],
            },
          ],
          properties: ['dealname'],
          limit: 1,
        }),
      );
      if (!found.ok) return found;
      dealId = found.value.results[0]?.id ?? null;
    }

    if (!dealId) {
      const properties: Record<string, string> = { dealname: input.dealName, ...ours };
      const pipeline = await this.newDealStage(input);
      if (!pipeline.ok) return pipeline;
      properties.pipeline = pipeline.value.pipelineId;
      properties.dealstage = pipeline.value.stageId;
      if (input.amount) {
        properties.amount = toDecimal(input.amount.minor, currencyExponent(input.amount.currency));
        properties.deal_currency_code = input.amount.currency;
      }
      if (input.closeDate) properties.closedate = new Date(input.closeDate).toISOString();
      const deal = await this.api((c) =>
        c.crm.deals.basicApi.create({
          properties,
          associations: [
            {
              to: { id: companyId! },
              types: [spec(ASSOCIATION.primaryDealToCompany), spec(ASSOCIATION.dealToCompany)],
            },
            ...(contactId ? [{ to: { id: contactId }, types: [spec(ASSOCIATION.dealToContact)] }] : []),
          ],
        }),
      );
      if (!deal.ok) return deal;
      dealId = deal.value.id;
      created.deal = true;
      await saveWriteRecord(this.db, this.tenantId, key, 'deal', dealId);
      await rememberOwnWrites(this.db, this.tenantId, dealId, properties);
      return ok({ dealId, companyId, contactId, created });
    }

    // An existing deal: our properties on it, and the associations (creating one twice is harmless).
    await saveWriteRecord(this.db, this.tenantId, key, 'deal', dealId);
    const updated = await this.updateDealAttribution(dealId, input.attribution);
    if (!updated.ok) return updated;
    const linkCompany = await this.api((c) =>
      c.crm.associations.v4.batchApi.create('deals', 'companies', {
        inputs: [
          { _from: { id: dealId! }, to: { id: companyId! }, types: [spec(ASSOCIATION.dealToCompany)] },
        ],
      }),
    );
    if (!linkCompany.ok) return linkCompany;
    if (contactId) {
      const linkContact = await this.api((c) =>
        c.crm.associations.v4.batchApi.create('deals', 'contacts', {
          inputs: [
            { _from: { id: dealId! }, to: { id: contactId! }, types: [spec(ASSOCIATION.dealToContact)] },
          ],
        }),
      );
      if (!linkContact.ok) return linkContact;
    }
    return ok({ dealId, companyId, contactId, created });
  }

  /** The pipeline and stage of a new deal: the input's, or the first pipeline's first open stage. */
  private async newDealStage(
    input: CreateOrLinkDealInput,
  ): Promise<CrmResult<{ pipelineId: string; stageId: string }>> {
    if (input.pipelineId && input.stageId)
      return ok({ pipelineId: input.pipelineId, stageId: input.stageId });
    const pipelines = this.pipelines ? ok(this.pipelines) : await this.listPipelines();
    if (!pipelines.ok) return pipelines;
    const pipeline = pipelines.value.find((p) => p.id === input.pipelineId) ?? pipelines.value[0];
    // An undecided closed stage reads as open too; a new deal never starts closed.
    const stage = pipeline?.stages.find((s) => s.categoryHint === 'open' && !s.isClosed);
    if (!pipeline || !stage)
      return fail({ kind: 'invalid', message: 'HubSpot has no deal pipeline with an open stage' });
    return ok({ pipelineId: pipeline.id, stageId: stage.id });
  }

  async updateDealAttribution(
    dealId: string,
    attribution: Partial<DealAttribution>,
  ): Promise<CrmResult<void>> {
    const properties = attributionProperties(attribution);
    await rememberOwnWrites(this.db, this.tenantId, dealId, properties);
    const result = await this.api((c) => c.crm.deals.basicApi.update(dealId, { properties }));
    return result.ok ? ok(undefined) : result;
  }

  async addDealNote(note: CrmNoteInput, idempotencyKey: string): Promise<CrmResult<{ noteId: string }>> {
    const made = await findWriteRecords(this.db, this.tenantId, idempotencyKey);
    if (made.note) return ok({ noteId: made.note });
    const created = await this.api((c) =>
      c.crm.objects.notes.basicApi.create({
        properties: { hs_timestamp: note.at.toISOString(), hs_note_body: note.bodyHtml },
        associations: [{ to: { id: note.dealId }, types: [spec(ASSOCIATION.noteToDeal)] }],
      }),
    );
    if (!created.ok) return created;
    await saveWriteRecord(this.db, this.tenantId, idempotencyKey, 'note', created.value.id);
    return ok({ noteId: created.value.id });
  }

  async getDeal(dealId: string): Promise<CrmResult<CrmDeal>> {
    const result = await this.api((c) => c.crm.deals.basicApi.getById(dealId, DEAL_READ_PROPERTIES));
    return result.ok ? ok(toCrmDeal(result.value)) : result;
  }

  /** Deals by id, 100 per batch read; ids HubSpot does not know are left out. */
  async getDeals(dealIds: string[]): Promise<CrmResult<CrmDeal[]>> {
    const deals: CrmDeal[] = [];
    for (let i = 0; i < dealIds.length; i += BATCH) {
      const inputs = dealIds.slice(i, i + BATCH).map((id) => ({ id }));
      const result = await this.api((c) =>
        c.crm.deals.batchApi.read({ inputs, properties: DEAL_READ_PROPERTIES, propertiesWithHistory: [] }),
      );
      if (!result.ok) return result;
      deals.push(...result.value.results.map((deal) => toCrmDeal(deal)));
    }
    return ok(deals);
  }

  async listDealsModifiedSince(
    since: Date,
    after: string | null,
    limit = SEARCH_PAGE,
  ): Promise<CrmResult<ModifiedDealsPage>> {
    const result = await this.search((c) =>
      c.crm.deals.searchApi.doSearch({
        filterGroups: [
          {
            filters: [
              { propertyName: 'hs_lastmodifieddate', operator: 'GTE' as any, value: String(since.getTime()) },
            ],
          },
        ],
        sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }] as any,
        properties: DEAL_READ_PROPERTIES,
        limit,
        ...(after ? { after } : {}),
      }),
    );
    if (!result.ok) return result;
    return ok({
      deals: result.value.results.map((deal) => toCrmDeal(deal)),
      after: result.value.paging?.next?.after ?? null,
      total: result.value.total,
    });
  }

  async listDeals(after: string | null, limit = BATCH): Promise<CrmResult<ModifiedDealsPage>> {
    const result = await this.api((c) =>
      c.crm.deals.basicApi.getPage(limit, after ?? undefined, DEAL_READ_PROPERTIES),
    );
    if (!result.ok) return result;
    return ok({
      deals: result.value.results.map((deal) => toCrmDeal(deal)),
      after: result.value.paging?.next?.after ?? null,
      total: null,
    });
  }
}
