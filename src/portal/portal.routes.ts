import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.ts';
import { PAGE_HEADERS } from './page.layout.ts';
import { pageErrorHandler } from './page-error.handler.ts';
import { partnerLinkPages } from './partner-link.routes.ts';
import { referralPages } from './referral-form.routes.ts';

/**
 * The no-login partner pages: server-rendered HTML that works without JavaScript. Cookies, form
 * bodies, the page headers and the HTML error pages are set up in this plugin's scope only, so the
 * JSON API around it is untouched.
 */
export const portalRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  app.setErrorHandler(pageErrorHandler);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(PAGE_HEADERS);
    return payload;
  });
  await app.register(partnerLinkPages, { deps });
  await app.register(referralPages, { deps });
};
