import oauth2, { type OAuth2Namespace, type OAuth2Token } from '@fastify/oauth2';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app.ts';
import { AppError } from '../../errors/app-error.ts';
import { html } from '../../portal/html.template.ts';
import { installCrmAccount, setUpCrmAccount } from '../crm-install.ts';
import { connectedPage, expiredPage, notConnectedPage, refusedPage, sendPage } from '../crm-oauth.pages.ts';
import { checkState, signState } from '../crm-oauth.state.ts';
import { hubspotConnector } from './hubspot-connector.ts';
import { HUBSPOT_AUTHORIZE_PATH, HUBSPOT_SCOPES, HUBSPOT_TOKEN_PATH } from './hubspot-oauth.auth.ts';
import { requireHubspotConfigured } from './hubspot-oauth.guard.ts';
import { hubspotAuthFor } from './hubspot-tokens.ts';

declare module 'fastify' {
  interface FastifyInstance {
    hubspotOAuth2?: OAuth2Namespace;
  }
}

const CALLBACK_PATH = '/oauth/hubspot/callback';
const START_AGAIN = 'Start it again from the app listing';

/**
 * The install: `/oauth/hubspot/install` sends the admin to HubSpot's consent screen with our scopes
 * and a signed state; `/oauth/hubspot/callback` exchanges the code (@fastify/oauth2), identifies the
 * portal, creates or reactivates its tenant, stores the tokens sealed, sets up our deal properties
 * and the stage mapping, and shows the "connected" page.
 */
export const hubspotOauthRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const { config, services } = deps;
  const configured = requireHubspotConfigured(deps);
  const key = services.secrets.linkSigningKey;
  const callbackUri = `${config.publicUrl}${CALLBACK_PATH}`;

  if (config.hubspotClientId && config.hubspotClientSecret) {
    await app.register(oauth2, {
      name: 'hubspotOAuth2',
      scope: [...HUBSPOT_SCOPES],
      credentials: {
        client: { id: config.hubspotClientId, secret: config.hubspotClientSecret },
        auth: {
          tokenHost: config.hubspotApiBase,
          tokenPath: HUBSPOT_TOKEN_PATH,
          authorizeHost: config.hubspotAuthBase,
          authorizePath: HUBSPOT_AUTHORIZE_PATH,
        },
        // HubSpot reads client_id and client_secret from the form body, not Basic auth.
        options: { authorizationMethod: 'body', bodyFormat: 'form' },
      },
      callbackUri,
      // Stateless: the signed state replaces the plugin's cookie, so any replica can take the callback.
      generateStateFunction: () => signState(key, 'hubspot', Date.now()),
      checkStateFunction: (request) =>
        checkState(key, 'hubspot', (request.query as { state?: string }).state, Date.now()) === 'ok',
    });
  }

  app.get(
    '/oauth/hubspot/install',
    {
      preHandler: configured,
      schema: { tags: ['crm'], summary: 'Start the HubSpot install (redirects to HubSpot)', hide: true },
    },
    async (request, reply) => {
      const oauth = app.hubspotOAuth2 as OAuth2Namespace;
      const url = await oauth.generateAuthorizationUri(request, reply);
      return reply.redirect(url, 302);
    },
  );

  app.get(
    CALLBACK_PATH,
    {
      preHandler: configured,
      schema: {
        tags: ['crm'],
        summary: 'HubSpot sends the admin back here with an authorization code',
        hide: true,
        querystring: Type.Object({
          code: Type.Optional(Type.String({ maxLength: 2000 })),
          state: Type.Optional(Type.String({ maxLength: 500 })),
          error: Type.Optional(Type.String({ maxLength: 200 })),
          error_description: Type.Optional(Type.String({ maxLength: 2000 })),
        }),
      },
    },
    async (request, reply) => {
      const query = request.query;
      if (query.error) {
        return sendPage(reply, 400, refusedPage('HubSpot', START_AGAIN));
      }
      const state = checkState(key, 'hubspot', query.state, Date.now());
      if (state !== 'ok' || !query.code) {
        return sendPage(reply, 400, expiredPage(state, 'The install could not be verified.', START_AGAIN));
      }
      const oauth = app.hubspotOAuth2 as OAuth2Namespace;
      let token: OAuth2Token;
      try {
        token = await oauth.getAccessTokenFromAuthorizationCodeFlow(request);
      } catch (error) {
        request.log.warn({ err: error }, 'hubspot install: code exchange refused');
        return sendPage(
          reply,
          400,
          notConnectedPage(
            'HubSpot',
            'HubSpot did not accept the install code (it may have been used already). Start the install again.',
          ),
        );
      }
      const { access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn } = token.token;
      if (!refreshToken) throw new AppError('internal_error', 'HubSpot answered without a refresh token');
      const info = await hubspotAuthFor(services).tokenInfo(accessToken);
      if (!info.ok) {
        request.log.warn({ error: info.error }, 'hubspot install: token metadata unavailable');
        return sendPage(
          reply,
          502,
          notConnectedPage(
            'HubSpot',
            'HubSpot did not tell us which account was connected. Please try the install again in a minute.',
          ),
        );
      }
      const installed = await installCrmAccount(deps.db, services, {
        crmKind: 'hubspot',
        accountId: info.value.hubId,
        accountName: info.value.hubDomain ?? `HubSpot portal ${info.value.hubId}`,
        tokens: { accessToken, refreshToken, expiresAt: new Date(Date.now() + Number(expiresIn) * 1000) },
        instanceUrl: null,
        scopes: info.value.scopes,
        installedBy: info.value.user,
        requestId: request.id,
      });
      const setup = await setUpCrmAccount(
        deps.db,
        installed.tenant.id,
        hubspotConnector(deps.db, services, installed.tenant.id),
        request.log,
      );
      return sendPage(
        reply,
        200,
        connectedPage(
          'HubSpot',
          html`<p class="notice ok">PartnerLoop is connected to HubSpot account <strong>${info.value.hubDomain ?? info.value.hubId}</strong>
(portal ${info.value.hubId})${installed.reactivated ? ', and the existing installation is active again' : ''}.</p>
${setup.stages !== null ? html`<p>${setup.stages} deal stages were read and classified; review them with <code>GET /api/v1/crm/stage-mapping</code>.</p>` : ''}`,
          setup.problems,
          installed.adminKey,
        ),
      );
    },
  );
};
