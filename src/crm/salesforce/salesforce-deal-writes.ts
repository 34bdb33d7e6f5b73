import { currencyExponent } from '../../portal/amount.parse.ts';
import { toDecimal } from '../crm-amount.ts';
import type { CreateOrLinkDealInput, CrmResult, LinkedDeal } from '../crm-connector.ts';
import { ok } from '../crm-connector.ts';
import { findWriteRecords, saveWriteRecord } from '../crm-sync.repository.ts';
import type { SalesforceConnector } from './salesforce-connector.ts';
import { attributionFields, SF_FIELD, websiteOnDomain } from './salesforce-fields.ts';
import { composite, type SubRequest } from './salesforce-rest.ts';
import { soqlContains, soqlString } from './salesforce-soql.ts';

/** A new opportunity without an expected close date closes, on paper, this far out (CloseDate is required). */
const DEFAULT_CLOSE_DAYS = 90;

const query = (referenceId: string, soql: string): SubRequest => ({
  referenceId,
  method: 'GET',
  path: `query?q=${encodeURIComponent(soql)}`,
});

/** Salesforce requires a contact's LastName: the name's last word, else the mailbox. */
function contactName(contact: { email: string; name: string | null }) {
  const words = (contact.name ?? '').trim().split(/\s+/).filter(Boolean);
  const lastName = words.length > 0 ? words.at(-1)! : contact.email.split('@')[0]!;
  const firstName = words.slice(0, -1).join(' ');
  return { LastName: lastName.slice(0, 80), ...(firstName ? { FirstName: firstName.slice(0, 40) } : {}) };
}

/**
 * An approved registration → Account, Contact and Opportunity, found or created, with our fields,
 * in two calls: one composite of lookups (the opportunity by our Registration_Id__c, the account by
 * website domain, the contact by email), one all-or-none composite of the writes. The opportunity
 * is written as an upsert on Registration_Id__c (a unique External ID), so a retry after any crash,
 * even one between Salesforce's answer and our record of it, lands on the first run's opportunity;
 * the account and contact are found again by domain and email. What this run created is recorded
 * under the registration's key, and a retry reuses it without looking.
 */
export async function createOrLinkOpportunity(
  connector: SalesforceConnector,
  input: CreateOrLinkDealInput,
): Promise<CrmResult<LinkedDeal>> {
  const required = await connector.requireOurFields();
  if (!required.ok) return required;
  const { db, tenantId, caller } = connector;
  const key = `registration:${input.registrationId}`;
  const made = await findWriteRecords(db, tenantId, key);
  const created = { deal: false, company: false, contact: false };
  const domain = input.company.domain;

  let dealId: string | null = made.deal ?? input.existingDealId ?? null;
  let accountId: string | null = made.company ?? null;
  let contactId: string | null = made.contact ?? null;
  const lookups: SubRequest[] = [];
  if (!dealId)
    lookups.push(
      query(
        'opportunity',
        `SELECT Id, AccountId FROM Opportunity WHERE ${SF_FIELD.registrationId} = ${soqlString(input.registrationId)} LIMIT 1`,
      ),
    );
  if (!accountId && domain)
    lookups.push(
      query(
        'accounts',
        `SELECT Id, Website FROM Account WHERE Website LIKE ${soqlContains(domain)} ORDER BY CreatedDate LIMIT 200`,
      ),
    );
  if (!contactId && input.contact)
    lookups.push(
      query(
        'contact',
        `SELECT Id, AccountId FROM Contact WHERE Email = ${soqlString(input.contact.email)} ORDER BY CreatedDate LIMIT 1`,
      ),
    );
  if (lookups.length > 0) {
    const found = await composite(caller, lookups, false);
    if (!found.ok) return found;
    dealId ??= found.value.get('opportunity')?.body.records[0]?.Id ?? null;
    accountId ??=
      (found.value.get('accounts')?.body.records ?? []).find(
        (a: { Website: string | null }) => domain !== null && websiteOnDomain(a.Website, domain),
      )?.Id ?? null;
    const contact = found.value.get('contact')?.body.records[0];
    contactId ??= contact?.Id ?? null;
    // A contact found by email belongs to its account; the opportunity goes there too.
    accountId ??= contact?.AccountId ?? null;
  }

  const ours = attributionFields(input.attribution);
  const writes: SubRequest[] = [];
  if (!accountId)
    writes.push({
      referenceId: 'account',
      method: 'POST',
      path: 'sobjects/Account',
      body: { Name: input.company.name.slice(0, 255), ...(domain ? { Website: domain } : {}) },
    });
  const accountRef = accountId ?? '@{account.id}';
  if (input.contact && !contactId)
    writes.push({
      referenceId: 'contact',
      method: 'POST',
      path: 'sobjects/Contact',
      body: { ...contactName(input.contact), Email: input.contact.email, AccountId: accountRef },
    });
  if (dealId) {
    writes.push({
      referenceId: 'opportunity',
      method: 'PATCH',
      path: `sobjects/Opportunity/${dealId}`,
      body: ours,
    });
  } else {
    const stage = input.stageId ? ok(input.stageId) : await connector.firstOpenStage();
    if (!stage.ok) return stage;
    const closeDate =
      input.closeDate?.slice(0, 10) ??
      new Date(Date.now() + DEFAULT_CLOSE_DAYS * 86_400_000).toISOString().slice(0, 10);
    // The external id is the upsert's key, in the URL; Salesforce refuses it in the body too.
    const { [SF_FIELD.registrationId]: _key, ...fields } = ours;
    writes.push({
      referenceId: 'opportunity',
      method: 'PATCH',
      path: `sobjects/Opportunity/${SF_FIELD.registrationId}/${encodeURIComponent(input.registrationId)}`,
      body: {
        Name: input.dealName.slice(0, 120),
        StageName: stage.value,
        CloseDate: closeDate,
        AccountId: accountRef,
        ...(input.amount
          ? { Amount: Number(toDecimal(input.amount.minor, currencyExponent(input.amount.currency))) }
          : {}),
        ...fields,
      },
    });
  }
  const written = await composite(caller, writes, true);
  if (!written.ok) return written;
  const opportunity = written.value.get('opportunity')!;
  if (!dealId) {
    dealId = opportunity.body.id as string;
    created.deal = opportunity.body.created !== false;
  }
  if (!accountId) {
    accountId = written.value.get('account')!.body.id as string;
    created.company = true;
    await saveWriteRecord(db, tenantId, key, 'company', accountId);
  }
  if (input.contact && !contactId) {
    contactId = written.value.get('contact')!.body.id as string;
    created.contact = true;
    await saveWriteRecord(db, tenantId, key, 'contact', contactId);
  }
  // Linked or created, the deal is the registration's from now on (a retry skips the lookups).
  if (!made.deal) await saveWriteRecord(db, tenantId, key, 'deal', dealId);
  return ok({ dealId, companyId: accountId, contactId, created });
}
