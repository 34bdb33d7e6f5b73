// A local HubSpot to click through the install by hand:
//   npx tsx test/hubspot/run-local-hubspot.ts
// then start PartnerLoop with the variables it prints. State lives in memory until you stop it.
import { startLocalHubspot } from './local-hubspot.ts';
import { configureLocalOauth } from './local-hubspot-oauth.ts';
import { localWebhooks } from './local-hubspot-webhooks.ts';

const port = Number(process.env.LOCAL_HUBSPOT_PORT ?? 4010);
const clientId = process.env.HUBSPOT_CLIENT_ID ?? 'local-client-id';
const clientSecret = process.env.HUBSPOT_CLIENT_SECRET ?? 'local-client-secret';
const publicUrl = (process.env.PUBLIC_URL ?? 'http://localhost:3000').replace(/\/+$/, '');

const hubspot = await startLocalHubspot({ port, host: process.env.LOCAL_HUBSPOT_HOST ?? '127.0.0.1' });
const app = configureLocalOauth(hubspot.state, { clientId, clientSecret });
localWebhooks(hubspot.state, { targetUrl: `${publicUrl}/webhooks/hubspot`, clientSecret });

console.log(`Local HubSpot listening on ${hubspot.url}

Start PartnerLoop against it with:
  HUBSPOT_API_BASE=${hubspot.url} HUBSPOT_AUTH_BASE=${hubspot.url} \\
  HUBSPOT_CLIENT_ID=${clientId} HUBSPOT_CLIENT_SECRET=${clientSecret} HUBSPOT_APP_ID=${app.appId} \\
  PUBLIC_URL=${publicUrl} npx partnerloop start

Then open ${publicUrl}/oauth/hubspot/install and approve the install.
Move a deal as a user would:  curl -X PATCH ${hubspot.url}/local/portals/<portalId>/deals/<dealId> \\
  -H 'content-type: application/json' -d '{"properties":{"dealstage":"closedwon"}}'
Deliver the webhooks of changes so far:  curl -X POST ${hubspot.url}/local/webhooks/flush
Stop with Ctrl-C.`);

const stop = async () => {
  await hubspot.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
