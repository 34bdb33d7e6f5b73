import type { FastifyPluginAsync } from 'fastify';
import { type AreaOptions, portalOf } from './local-hubspot.ts';

/** `GET /account-info/v3/details`: the portal behind the token (how the install learns its hub id). */
export const localHubspotAccount: FastifyPluginAsync<AreaOptions> = async (app) => {
  app.get('/account-info/v3/details', async (request) => {
    const portal = portalOf(request);
    return {
      portalId: portal.portalId,
      accountType: 'STANDARD',
      timeZone: portal.timeZone,
      companyCurrency: portal.currency,
      additionalCurrencies: [],
      utcOffset: '-05:00',
      utcOffsetMilliseconds: -18_000_000,
      uiDomain: 'app.hubspot.com',
      dataHostingLocation: 'na1',
    };
  });
};
