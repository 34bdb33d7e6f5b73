import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app.ts';
import { html } from '../../portal/html.template.ts';
import { installCrmAccount, setUpCrmAccount } from '../crm-install.ts';
import { connectedPage, expiredPage, notConnectedPage, refusedPage, sendPage } from '../crm-oauth.pages.ts';
import { checkState, signState } from '../crm-oauth.state.ts';
import { pkcePair, SalesforceAuth } from './salesforce-oauth.auth.ts';
import { requireSalesforceConfigured } from './salesforce-oauth.guard.ts';
import { rememberInstall, takeInstall } from './salesforce-oauth.state.ts';
import { salesforceConnector } from './salesforce-session.ts';

const CALLBACK_PATH = '/oauth/salesforce/callback';
const START_AGAIN = 'Start it again';

/**
 * The install (OAuth 2.0 web server flow with PKCE): `/oauth/salesforce/install` (`?sandbox=true`
 * for a sandbox's login host) makes a verifier, keeps it server-side under the signed state, and
 * sends the admin to Salesforce's consent screen with its S256 challenge; the callback, on any
 * replica, takes the verifier (once), exchanges the code, creates or reactivates the org's tenant,
 * stores the instance URL and the sealed tokens, checks our Opportunity fields and reads the
 * stages, and shows the "connected" page.
 */
export const salesforceOauthRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const { config, services } = deps;
  const configured = requireSalesforceConfigured(deps);
  const stateKey = services.secrets.linkSigningKey;
  const sealKey = services.secrets.tokenEncryptionKey;
  const callbackUri = `${config.publicUrl}${CALLBACK_PATH}`;

  app.get(
    '/oauth/salesforce/install',
    {
      preHandler: configured,
      schema: {
        tags: ['crm'],
        summary: 'Start the Salesforce install (redirects to Salesforce)',
        hide: true,
        querystring: Type.Object({ sandbox: Type.Optional(Type.Boolean({ default: false })) }),
      },
    },
    async (request, reply) => {
      const loginUrl = request.query.sandbox ? config.salesforceSandboxLoginUrl : config.salesforceLoginUrl;
      const now = Date.now();
      const state = signState(stateKey, 'salesforce', now);
      const { verifier, challenge } = pkcePair();
      await rememberInstall(deps.db, sealKey, { state, codeVerifier: verifier, loginUrl, nowMs: now });
      const url = new SalesforceAuth(config, loginUrl).authorizeUrl({
        redirectUri: callbackUri,
        state,
        codeChallenge: challenge,
      });
      return reply.redirect(url, 302);
    },
  );

  app.get(
    CALLBACK_PATH,
    {
      preHandler: configured,
      schema: {
        tags: ['crm'],
        summary: 'Salesforce sends the admin back here with an authorization code',
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
        return sendPage(reply, 400, refusedPage('Salesforce', START_AGAIN));
      }
      const state = checkState(stateKey, 'salesforce', query.state, Date.now());
      const pending =
        state === 'ok' && query.state ? await takeInstall(deps.db, sealKey, query.state) : undefined;
      if (!pending || !query.code) {
        // A state is used once: the verifier it keeps is taken by the first callback.
        const unverified = 'The install could not be verified (or was already completed).';
        return sendPage(reply, 400, expiredPage(state, unverified, START_AGAIN));
      }
      const auth = new SalesforceAuth(config, pending.loginUrl);
      const credentials = await auth.exchangeCode({
        code: query.code,
        redirectUri: callbackUri,
        codeVerifier: pending.codeVerifier,
      });
      if (!credentials.ok) {
        request.log.warn({ error: credentials.error }, 'salesforce install: code exchange refused');
        return sendPage(
          reply,
          credentials.error.kind === 'unavailable' ? 502 : 400,
          notConnectedPage(
            'Salesforce',
            `Salesforce did not accept the install (${credentials.error.message}). Start the install again.`,
          ),
        );
      }
      const { accessToken, refreshToken, instanceUrl, accountId: orgId, scopes, userId } = credentials.value;
      const installed = await installCrmAccount(deps.db, services, {
        crmKind: 'salesforce',
        accountId: orgId,
        accountName: `Salesforce org ${orgId}`,
        tokens: { accessToken, refreshToken, expiresAt: null },
        instanceUrl,
        scopes,
        installedBy: userId ?? null,
        requestId: request.id,
      });
      const connector = salesforceConnector(deps.db, services, installed.tenant.id, {
        priority: 'interactive',
      });
      const setup = await setUpCrmAccount(deps.db, installed.tenant.id, connector, request.log);
      const sandbox =
        pending.loginUrl === config.salesforceSandboxLoginUrl &&
        pending.loginUrl !== config.salesforceLoginUrl;
      return sendPage(
        reply,
        200,
        connectedPage(
          'Salesforce',
          html`<p class="notice ok">PartnerLoop is connected to the Salesforce ${sandbox ? 'sandbox' : 'org'} <strong>${orgId}</strong>
at ${instanceUrl ?? ''}${installed.reactivated ? ', and the existing installation is active again' : ''}.</p>
${
  setup.propertiesMissing.length > 0
    ? html`<p class="notice warn">Salesforce lacks PartnerLoop's Opportunity fields: ${setup.propertiesMissing.join(', ')}.
Deploy the project in <code>crm-extensions/salesforce</code> (<code>sf project deploy start</code>), assign the
<code>PartnerLoop_Integration</code> permission set to this user, then check again with <code>POST /api/v1/crm/fields/check</code>.</p>`
    : setup.propertiesCreated !== null
      ? html`<p>PartnerLoop's Opportunity fields are all there.</p>`
      : ''
}
${setup.stages !== null ? html`<p>${setup.stages} opportunity stages were read and classified; review them with <code>GET /api/v1/crm/stage-mapping</code>.</p>` : ''}`,
          setup.problems,
          installed.adminKey,
        ),
      );
    },
  );
};
