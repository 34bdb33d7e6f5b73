// A local Salesforce org to click through the install by hand:
//   npx tsx test/salesforce/run-local-salesforce.ts
// then start PartnerLoop with the variables it prints. State lives in memory until you stop it.
// LOCAL_SALESFORCE_CUSTOM_FIELDS=none starts the org without our Opportunity fields (to see the
// install report them missing).
import { startLocalSalesforce } from './local-salesforce.ts';
import type { CustomFieldInput } from './local-salesforce-schema.ts';

const port = Number(process.env.LOCAL_SALESFORCE_PORT ?? 4020);
const clientId = process.env.SALESFORCE_CLIENT_ID ?? 'sf-test-client-id';
const clientSecret = process.env.SALESFORCE_CLIENT_SECRET ?? 'sf-test-client-secret';
const apiVersion = process.env.SALESFORCE_API_VERSION ?? '62.0';
const publicUrl = (process.env.PUBLIC_URL ?? 'http://localhost:3000').replace(/\/+$/, '');

/** The fields `crm-extensions/salesforce` deploys on Opportunity. */
const partnerLoopFields: CustomFieldInput[] = [
  { name: 'Partner__c', type: 'string' },
  { name: 'Partner_Id__c', type: 'string' },
  { name: 'Registration_Id__c', type: 'string', externalId: true, unique: true },
  {
    name: 'Registration_Status__c',
    type: 'picklist',
    picklistValues: ['submitted', 'approved', 'rejected', 'won', 'lost', 'expired'],
  },
  { name: 'Protected_Until__c', type: 'datetime' },
];

const sf = await startLocalSalesforce({
  port,
  host: process.env.LOCAL_SALESFORCE_HOST ?? '127.0.0.1',
  clientId,
  clientSecret,
  apiVersion,
  customFields:
    process.env.LOCAL_SALESFORCE_CUSTOM_FIELDS === 'none' ? {} : { Opportunity: partnerLoopFields },
});

console.log(`Local Salesforce org ${sf.orgId} listening on ${sf.url}

Start PartnerLoop against it with:
  SALESFORCE_LOGIN_URL=${sf.url} SALESFORCE_SANDBOX_LOGIN_URL=${sf.url} \\
  SALESFORCE_CLIENT_ID=${clientId} SALESFORCE_CLIENT_SECRET=${clientSecret} \\
  SALESFORCE_API_VERSION=${apiVersion} PUBLIC_URL=${publicUrl} npx partnerloop start

Then open ${publicUrl}/oauth/salesforce/install (the org approves at once).
Act as a sales rep in Salesforce (each change emits an OpportunityChangeEvent):
  curl -X PATCH ${sf.url}/local/sobjects/Opportunity/<id> \\
    -H 'content-type: application/json' -d '{"StageName":"Closed Won"}'
  curl ${sf.url}/local/sobjects/Opportunity                 # list the opportunities
  curl -X POST ${sf.url}/local/gap -H 'content-type: application/json' \\
    -d '{"kind":"GAP_OVERFLOW","recordIds":[]}'             # make the app re-read
Stop with Ctrl-C.`);

const stop = async () => {
  await sf.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
