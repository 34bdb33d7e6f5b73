import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CreateOrLinkDealInput,
  CrmConnector,
  CrmDeal,
  ModifiedDealsPage,
} from '../../src/crm/crm-connector.ts';
import { crmConnectorFor } from '../../src/crm/crm-vendors.ts';
import { makeTenant } from '../factories/tenant.factory.ts';
import type { TestRuntime } from '../helpers/test-runtime.ts';
import { openConnectedWorld } from './hubspot/connected-world.ts';
import { openSalesforceWorld } from './salesforce/salesforce-world.ts';

/**
 * One contract for every CRM connector: the same cases run against the HubSpot connector on the
 * local HubSpot and the Salesforce connector on the local Salesforce, each through its official SDK.
 * A case that needs a CRM-specific expectation does not belong here.
 */
interface Subject {
  connector: CrmConnector;
  runtime: TestRuntime;
  /** A tenant of this CRM that has no connection. */
  unconnectedTenant(): Promise<string>;
  /** A well-formed deal id the CRM does not know. */
  unknownDealId: string;
  close(): Promise<void>;
}

const subjects: Record<string, () => Promise<Subject>> = {
  hubspot: async () => {
    const world = await openConnectedWorld();
    const t = await world.connectTenant();
    return {
      connector: t.connector,
      runtime: world.runtime,
      unknownDealId: '999999999',
      unconnectedTenant: async () =>
        (
          await makeTenant(world.runtime.db, {
            crmKind: 'hubspot',
            crmAccountId: String(world.newPortalId()),
          })
        ).tenant.id,
      close: () => world.close(),
    };
  },
  salesforce: async () => {
    const world = await openSalesforceWorld();
    const t = await world.connectTenant();
    return {
      connector: t.connector,
      runtime: world.runtime,
      unknownDealId: '006000000000999AAA',
      unconnectedTenant: async () =>
        (await makeTenant(world.runtime.db, { crmKind: 'salesforce', crmAccountId: '00D000000000001AAA' }))
          .tenant.id,
      close: () => world.close(),
    };
  },
};

const dealInput = (company: string): CreateOrLinkDealInput => {
  const id = `reg-${randomBytes(6).toString('hex')}`;
  return {
    registrationId: id,
    dealName: `${company} (via Acme Referrals)`,
    amount: { minor: 990_000n, currency: 'EUR' },
    closeDate: '2027-06-30',
    pipelineId: null,
    stageId: null,
    company: { name: company, domain: `${company.toLowerCase()}.example` },
    contact: { email: `buyer@${company.toLowerCase()}.example`, name: 'Bea Buyer' },
    attribution: {
      partnerId: 'partner-1',
      partnerName: 'Acme Referrals',
      registrationId: id,
      registrationStatus: 'approved',
      protectedUntil: new Date('2027-03-01T00:00:00.000Z'),
    },
  };
};

const value = <T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.value;
};

for (const [name, open] of Object.entries(subjects)) {
  describe(`the CRM connector contract: ${name}`, () => {
    let subject: Subject;
    let connector: CrmConnector;
    beforeAll(async () => {
      subject = await open();
      connector = subject.connector;
      value(await connector.ensureProperties());
    });
    afterAll(async () => {
      await subject?.close();
    });

    it('names its CRM, and has our fields after ensureProperties (nothing left missing)', async () => {
      expect(connector.kind).toBe(name);
      expect(value(await connector.missingProperties())).toEqual([]);
      expect(value(await connector.ensureProperties())).toEqual({ created: [], missing: [] });
    });

    it('lists pipelines whose stages include open, won and lost ones, in order', async () => {
      const pipelines = value(await connector.listPipelines());
      expect(pipelines.length).toBeGreaterThan(0);
      const stages = pipelines[0]!.stages;
      expect(new Set(stages.map((s) => s.categoryHint))).toEqual(new Set(['open', 'won', 'lost']));
      const orders = stages.map((s) => s.displayOrder);
      expect(orders).toEqual([...orders].sort((a, b) => a - b));
      expect(stages.find((s) => s.categoryHint === 'won')?.isClosed).toBe(true);
    });

    it('creates a deal with company, contact and attribution, and a retry returns the same deal', async () => {
      const input = dealInput('Contoso');
      const first = value(await connector.createOrLinkDeal(input));
      expect(first.created.deal).toBe(true);
      const again = value(await connector.createOrLinkDeal(input));
      expect(again.dealId).toBe(first.dealId);
      expect(again.created.deal).toBe(false);
      const deal = value(await connector.getDeal(first.dealId));
      expect(deal).toMatchObject({
        id: first.dealId,
        name: 'Contoso (via Acme Referrals)',
        archived: false,
        attribution: {
          partnerId: 'partner-1',
          partnerName: 'Acme Referrals',
          registrationId: input.registrationId,
          registrationStatus: 'approved',
        },
      });
      expect(Number(deal.amount)).toBe(9900);
      expect(deal.attribution?.protectedUntil?.toISOString()).toBe('2027-03-01T00:00:00.000Z');
    });

    it('finds the prospect by domain and by email, and its deal as an open partner deal', async () => {
      const linked = value(await connector.createOrLinkDeal(dealInput('Fabrikam')));
      const byDomain = value(await connector.findProspect('fabrikam.example', null));
      expect(byDomain.companies.map((c) => c.id)).toContain(linked.companyId);
      expect(byDomain.deals.map((d) => d.id)).toContain(linked.dealId);
      const byEmail = value(await connector.findProspect(null, 'buyer@fabrikam.example'));
      expect(byEmail.contacts.map((c) => c.id)).toContain(linked.contactId);
      const open = value(await connector.checkOpenDeals('fabrikam.example', null));
      expect(open).toContainEqual({ dealId: linked.dealId, ownerType: 'partner' });
      expect(await connector.findOpenDeals('nobody-here.example', 'no@nobody-here.example')).toEqual([]);
    });

    it('updates our attribution on a deal', async () => {
      const linked = value(await connector.createOrLinkDeal(dealInput('Northwind')));
      value(await connector.updateDealAttribution(linked.dealId, { registrationStatus: 'won' }));
      const deal = value(await connector.getDeal(linked.dealId));
      expect(deal.attribution?.registrationStatus).toBe('won');
      expect(deal.attribution?.partnerName).toBe('Acme Referrals');
    });

    it('writes a note once per idempotency key', async () => {
      const linked = value(await connector.createOrLinkDeal(dealInput('Tailspin')));
      const note = { dealId: linked.dealId, bodyHtml: '<p>Partner &amp; rep met.</p>', at: new Date() };
      const first = value(await connector.addDealNote(note, `contract:${linked.dealId}`));
      const second = value(await connector.addDealNote(note, `contract:${linked.dealId}`));
      expect(second.noteId).toBe(first.noteId);
    });

    it('answers not_found for an unknown deal and leaves unknown ids out of a batch read', async () => {
      const linked = value(await connector.createOrLinkDeal(dealInput('Wingtip')));
      const unknown = subject.unknownDealId;
      expect(await connector.getDeal(unknown)).toMatchObject({ ok: false, error: { kind: 'not_found' } });
      const deals = value(await connector.getDeals([linked.dealId, unknown]));
      expect(deals.map((d) => d.id)).toEqual([linked.dealId]);
    });

    it('pages through modified deals oldest first and through every deal, each deal once', async () => {
      const made = [];
      for (const company of ['Alpha', 'Beta', 'Gamma'])
        made.push(value(await connector.createOrLinkDeal(dealInput(company))).dealId);
      const walk = async (next: (after: string | null) => ReturnType<CrmConnector['listDeals']>) => {
        const seen: CrmDeal[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 100; pages++) {
          const page: ModifiedDealsPage = value(await next(after));
          seen.push(...page.deals);
          after = page.after;
          if (after === null) break;
        }
        return seen;
      };
      const modified = await walk((after) => connector.listDealsModifiedSince(new Date(0), after, 2));
      const ids = modified.map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of made) expect(ids).toContain(id);
      const times = modified.map((d) => d.modifiedAt.getTime());
      expect(times).toEqual([...times].sort((a, b) => a - b));
      const all = (await walk((after) => connector.listDeals(after, 2))).map((d) => d.id);
      expect(new Set(all)).toEqual(new Set(ids));
    });

    it('answers not_connected, never throws, for a tenant with no connection', async () => {
      const tenantId = await subject.unconnectedTenant();
      const unconnected = (await crmConnectorFor(subject.runtime.db, subject.runtime.services, tenantId))!;
      expect(unconnected.kind).toBe(name);
      expect(await unconnected.listPipelines()).toMatchObject({
        ok: false,
        error: { kind: 'not_connected' },
      });
      expect(await unconnected.createOrLinkDeal(dealInput('Nope'))).toMatchObject({
        ok: false,
        error: { kind: 'not_connected' },
      });
      expect(await unconnected.findOpenDeals('nope.example', null)).toEqual([]);
    });
  });
}
