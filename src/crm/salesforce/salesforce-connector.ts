import type { Db } from '../../db/database.ts';
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
import type { SalesforceCaller } from './salesforce-caller.ts';
import { createOrLinkOpportunity } from './salesforce-deal-writes.ts';
import {
  attributionFields,
  missingFields,
  OPPORTUNITY_PIPELINE,
  type OpportunityRecord,
  readableFields,
  toCrmDeal,
  toCrmStage,
  websiteHost,
  websiteOnDomain,
} from './salesforce-fields.ts';
import { addOpportunityTask } from './salesforce-notes.ts';
import { composite, queryAll, queryPage } from './salesforce-rest.ts';
import { isSalesforceId, soqlContains, soqlDateTime, soqlIds, soqlString } from './salesforce-soql.ts';

interface DescribedField {
  name: string;
  type?: string;
  externalId?: boolean;
  unique?: boolean;
}

/** Our Opportunity fields change only when an admin deploys metadata: a describe per org holds this long. */
const DESCRIBE_TTL_MS = 10 * 60_000;
const described = new Map<string, { fields: DescribedField[]; at: number }>();

/** Ids per `IN (…)` list: well within SOQL's 100,000-character statement limit. */
const ID_CHUNK = 200;
const DEFAULT_PAGE = 200;

type OpenDeal = { dealId: string; ownerType: 'direct' | 'partner' };

/**
 * One tenant's Salesforce org as the CRM interface, on jsforce through `SalesforceCaller` (session
 * refresh, API allowance, failures as results). Build it with `salesforceConnector` (salesforce-session.ts).
 */
export class SalesforceConnector implements CrmConnector {
  readonly kind = 'salesforce' as const;
  accountId: string | null = null;
  /** The keyset cursor pages through any number of opportunities. */
  readonly searchResultCap = null;
  private stagesRead: CrmPipeline[] | undefined;

  constructor(
    readonly db: Db,
    readonly tenantId: string,
    readonly caller: SalesforceCaller,
  ) {}

  get stats() {
    return this.caller.stats;
  }

  /** Opportunity's fields in this org (cached per org unless `fresh`). */
  async opportunityFields(fresh = false): Promise<CrmResult<DescribedField[]>> {
    const opened = await this.caller.connection();
    if (!opened.ok) return opened;
    this.accountId = opened.value.orgId;
    const cached = described.get(opened.value.orgId);
    if (!fresh && cached && Date.now() - cached.at < DESCRIBE_TTL_MS) return ok(cached.fields);
    const result = await this.caller.call((conn) => conn.describe('Opportunity'));
    if (!result.ok) return result;
    const fields = result.value.fields.map((f) => ({
      name: f.name,
      type: f.type,
      externalId: f.externalId,
      unique: f.unique,
    }));
    described.set(opened.value.orgId, { fields, at: Date.now() });
    return ok(fields);
  }

  async missingProperties(): Promise<CrmResult<string[]>> {
    const fields = await this.opportunityFields(true);
    return fields.ok ? ok(missingFields(fields.value)) : fields;
  }

  /** Salesforce custom fields are metadata an app cannot create over REST: this reports what is missing. */
  async ensureProperties(): Promise<CrmResult<{ created: string[]; missing: string[] }>> {
    const missing = await this.missingProperties();
    return missing.ok ? ok({ created: [], missing: missing.value }) : missing;
  }

  /** Fails with a message naming what to deploy when our fields are not (all) there. */
  async requireOurFields(): Promise<CrmResult<void>> {
    const fields = await this.opportunityFields();
    if (!fields.ok) return fields;
    const missing = missingFields(fields.value);
    if (missing.length === 0) return ok(undefined);
    return fail({
      kind: 'invalid',
      code: 'FIELDS_MISSING',
      message: `Salesforce lacks our Opportunity fields: ${missing.join(', ')}. Deploy crm-extensions/salesforce and assign the PartnerLoop permission set.`,
    });
  }

  private async readFields(): Promise<CrmResult<string>> {
    const fields = await this.opportunityFields();
    return fields.ok ? ok(readableFields(fields.value).join(', ')) : fields;
  }

  async listPipelines(): Promise<CrmResult<CrmPipeline[]>> {
    const rows = await queryAll<Record<string, unknown>>(
      this.caller,
      'SELECT Id, MasterLabel, ApiName, IsActive, IsClosed, IsWon, SortOrder, DefaultProbability FROM OpportunityStage WHERE IsActive = true ORDER BY SortOrder',
    );
    if (!rows.ok) return rows;
    const stages = rows.value.map(toCrmStage).sort((a, b) => a.displayOrder - b.displayOrder);
    this.stagesRead = [{ ...OPPORTUNITY_PIPELINE, displayOrder: 0, stages }];
    return ok(this.stagesRead);
  }

  /** The first open stage, for a new opportunity. */
  async firstOpenStage(): Promise<CrmResult<string>> {
    const pipelines = this.stagesRead ? ok(this.stagesRead) : await this.listPipelines();
    if (!pipelines.ok) return pipelines;
    const stage = pipelines.value[0]?.stages.find((s) => !s.isClosed);
    return stage
      ? ok(stage.id)
      : fail({ kind: 'invalid', message: 'Salesforce has no open opportunity stage' });
  }

  async findProspect(domain: string | null, email: string | null): Promise<CrmResult<CrmProspectMatch>> {
    const found = await this.prospect(domain, email, false);
    if (!found.ok) return found;
    return ok({ ...found.value, deals: found.value.records.map(toCrmDeal) });
  }

  /** Accounts by domain and contacts by email in one composite call, then their accounts' opportunities. */
  private async prospect(domain: string | null, email: string | null, openOnly: boolean) {
    const companies: CrmCompany[] = [];
    const contacts: (CrmContact & { accountId: string | null })[] = [];
    const lookups = [
      ...(domain
        ? [
            {
              referenceId: 'accounts',
              method: 'GET' as const,
              path: `query?q=${encodeURIComponent(`SELECT Id, Name, Website FROM Account WHERE Website LIKE ${soqlContains(domain)} ORDER BY CreatedDate LIMIT 200`)}`,
            },
          ]
        : []),
      ...(email
        ? [
            {
              referenceId: 'contacts',
              method: 'GET' as const,
              path: `query?q=${encodeURIComponent(`SELECT Id, Email, FirstName, LastName, AccountId FROM Contact WHERE Email = ${soqlString(email)} LIMIT 200`)}`,
            },
          ]
        : []),
    ];
    if (lookups.length > 0) {
      const answered = await composite(this.caller, lookups, false);
      if (!answered.ok) return answered;
      for (const a of answered.value.get('accounts')?.body.records ?? [])
        if (domain && websiteOnDomain(a.Website, domain))
          companies.push({ id: a.Id, name: a.Name ?? null, domain: websiteHost(a.Website) });
      for (const c of answered.value.get('contacts')?.body.records ?? [])
        contacts.push({
          id: c.Id,
          email: c.Email ?? null,
          firstName: c.FirstName ?? null,
          lastName: c.LastName ?? null,
          accountId: c.AccountId ?? null,
        });
    }
    const accountIds = [
      ...new Set([...companies.map((c) => c.id), ...contacts.flatMap((c) => c.accountId ?? [])]),
    ];
    const records: OpportunityRecord[] = [];
    if (accountIds.length > 0) {
      const fields = await this.readFields();
      if (!fields.ok) return fields;
      for (let i = 0; i < accountIds.length; i += ID_CHUNK) {
        const where = `AccountId IN ${soqlIds(accountIds.slice(i, i + ID_CHUNK))}${openOnly ? ' AND IsClosed = false' : ''}`;
        const rows = await queryAll<OpportunityRecord>(
          this.caller,
          `SELECT ${fields.value} FROM Opportunity WHERE ${where}`,
        );
        if (!rows.ok) return rows;
        records.push(...rows.value);
      }
    }
    return ok({ companies, contacts: contacts.map(({ accountId: _, ...c }) => c), records });
  }

  async findOpenDeals(domain: string | null, email: string | null): Promise<OpenDeal[]> {
    const checked = await this.checkOpenDeals(domain, email);
    return checked.ok ? checked.value : [];
  }

  /** Open in Salesforce's sense: `IsClosed = false`, whatever the stage is called. */
  async checkOpenDeals(domain: string | null, email: string | null): Promise<CrmResult<OpenDeal[]>> {
    const found = await this.prospect(domain, email, true);
    if (!found.ok) return found;
    return ok(
      found.value.records.map((record) => ({
        dealId: record.Id,
        ownerType: toCrmDeal(record).attribution?.partnerId ? ('partner' as const) : ('direct' as const),
      })),
    );
  }

  createOrLinkDeal(input: CreateOrLinkDealInput): Promise<CrmResult<LinkedDeal>> {
    return createOrLinkOpportunity(this, input);
  }

  async updateDealAttribution(
    dealId: string,
    attribution: Partial<DealAttribution>,
  ): Promise<CrmResult<void>> {
    if (!isSalesforceId(dealId)) return fail({ kind: 'not_found', message: `no opportunity ${dealId}` });
    const required = await this.requireOurFields();
    if (!required.ok) return required;
    const result = await this.caller.call((conn) =>
      conn.sobject('Opportunity').update({ Id: dealId, ...attributionFields(attribution) }),
    );
    if (!result.ok) return result;
    const saved = result.value as { success: boolean; errors?: { errorCode?: string; message?: string }[] };
    if (!saved.success) {
      const error = saved.errors?.[0];
      return fail({ kind: 'invalid', code: error?.errorCode, message: error?.message ?? 'update refused' });
    }
    return ok(undefined);
  }

  addDealNote(note: CrmNoteInput, idempotencyKey: string): Promise<CrmResult<{ noteId: string }>> {
    return addOpportunityTask(this, note, idempotencyKey);
  }

  async getDeal(dealId: string): Promise<CrmResult<CrmDeal>> {
    const deals = await this.getDeals([dealId]);
    if (!deals.ok) return deals;
    const deal = deals.value[0];
    return deal ? ok(deal) : fail({ kind: 'not_found', message: `Salesforce has no opportunity ${dealId}` });
  }

  /** Opportunities by id; ids Salesforce does not know (or that are not ids) are left out. */
  async getDeals(dealIds: string[]): Promise<CrmResult<CrmDeal[]>> {
    const ids = [...new Set(dealIds.filter(isSalesforceId))];
    if (ids.length === 0) return ok([]);
    const fields = await this.readFields();
    if (!fields.ok) return fields;
    const deals: CrmDeal[] = [];
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const rows = await queryAll<OpportunityRecord>(
        this.caller,
        `SELECT ${fields.value} FROM Opportunity WHERE Id IN ${soqlIds(ids.slice(i, i + ID_CHUNK))}`,
      );
      if (!rows.ok) return rows;
      deals.push(...rows.value.map(toCrmDeal));
    }
    return ok(deals);
  }

  /**
   * Opportunities modified at or after `since`, oldest first, by their SystemModstamp. The page
   * cursor is the last (SystemModstamp, Id) read, a keyset rather than Salesforce's query locator:
   * it does not expire between pages, and ties on one instant are paged by Id.
   */
  async listDealsModifiedSince(
    since: Date,
    after: string | null,
    limit = DEFAULT_PAGE,
  ): Promise<CrmResult<ModifiedDealsPage>> {
    let where = `SystemModstamp >= ${soqlDateTime(since)}`;
    if (after) {
      const [at, id] = after.split('|');
      const last = new Date(at ?? '');
      if (Number.isNaN(last.getTime()) || !id || !isSalesforceId(id))
        return fail({ kind: 'invalid', message: `not a page cursor: ${after}` });
      where = `(SystemModstamp > ${soqlDateTime(last)} OR (SystemModstamp = ${soqlDateTime(last)} AND Id > '${id}'))`;
    }
    return this.page(`${where} ORDER BY SystemModstamp, Id`, limit, (r) => `${r.SystemModstamp}|${r.Id}`);
  }

  /** Every opportunity, page by page in Id order (the backfill). */
  async listDeals(after: string | null, limit = DEFAULT_PAGE): Promise<CrmResult<ModifiedDealsPage>> {
    if (after && !isSalesforceId(after))
      return fail({ kind: 'invalid', message: `not a page cursor: ${after}` });
    return this.page(`${after ? `Id > '${after}' ` : ''}ORDER BY Id`, limit, (r) => r.Id);
  }

  private async page(
    whereAndOrder: string,
    limit: number,
    cursorOf: (record: OpportunityRecord) => string,
  ): Promise<CrmResult<ModifiedDealsPage>> {
    const fields = await this.readFields();
    if (!fields.ok) return fields;
    const size = Math.min(Math.max(1, Math.floor(limit)), 2000);
    const where = whereAndOrder.startsWith('ORDER BY') ? whereAndOrder : `WHERE ${whereAndOrder}`;
    const rows = await queryPage<OpportunityRecord>(
      this.caller,
      `SELECT ${fields.value} FROM Opportunity ${where} LIMIT ${size}`,
    );
    if (!rows.ok) return rows;
    const records = rows.value.records;
    const last = records.at(-1);
    return ok({
      deals: records.map(toCrmDeal),
      after: records.length === size && last ? cursorOf(last) : null,
      total: null,
    });
  }
}
