import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { html } from '../portal/html.template.ts';
import { messagePage, PAGE_HEADERS, page } from '../portal/page.layout.ts';
import { EMAIL_KINDS } from './email-templates.ts';
import { listMailFiles, readMailFile } from './mail-transport.ts';
import { findUnsubscribeTarget, unsubscribeAndRecord } from './unsubscribe.ts';

const Token = Type.Object({ token: Type.String({ maxLength: 80 }) });

/**
 * `/u/:token`: the unsubscribe link of every partner email (List-Unsubscribe). GET only shows a
 * confirmation page, because mail scanners follow links; POST (the page's button, or a mailbox
 * provider's RFC 8058 one-click request, which carries no cookie) unsubscribes the contact from that
 * kind of email. `/dev/mail`: the embedded transport's `.eml` files, for this machine only.
 */
export const emailPages: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  await app.register(formbody, { bodyLimit: 4 * 1024 });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(PAGE_HEADERS);
    return payload;
  });

  app.get('/u/:token', { schema: { hide: true, params: Token } }, async (request, reply) => {
    const target = await findUnsubscribeTarget(deps.db, request.params.token);
    reply.type('text/html; charset=utf-8');
    if (!target)
      return reply
        .code(404)
        .send(messagePage('Link not recognised', ['This unsubscribe link is not valid.']));
    const what = EMAIL_KINDS[target.kind];
    return page({
      title: 'Unsubscribe',
      body: html`<h1>Unsubscribe</h1>
<p>Stop sending ${what} to <strong>${target.contactEmail}</strong>?</p>
<form method="post" action="/u/${request.params.token}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>`,
    });
  });

  app.post('/u/:token', { schema: { hide: true, params: Token } }, async (request, reply) => {
    const target = await findUnsubscribeTarget(deps.db, request.params.token);
    reply.type('text/html; charset=utf-8');
    if (!target)
      return reply
        .code(404)
        .send(messagePage('Link not recognised', ['This unsubscribe link is not valid.']));
    await deps.db
      .transaction()
      .execute((tx) => unsubscribeAndRecord(tx, target, { channel: 'web', ip: request.ip }));
    return messagePage('Unsubscribed', [
      html`<strong>${target.contactEmail}</strong> will no longer receive ${EMAIL_KINDS[target.kind]}.`,
    ]);
  });

  // Never in production; elsewhere only to this machine (the socket's address, not a forwarded one).
  if (deps.config.nodeEnv === 'production') return;
  const localOnly = async (request: FastifyRequest) => {
    if (!isLoopback(request.socket.remoteAddress)) {
      const error = new Error('Not found') as Error & { statusCode: number };
      error.statusCode = 404;
      throw error;
    }
  };

  app.get('/dev/mail', { preHandler: localOnly, schema: { hide: true } }, async (_request, reply) => {
    const files = await listMailFiles(deps.config);
    reply.type('text/html; charset=utf-8');
    return page({
      title: 'Sent mail',
      body: html`<h1>Sent mail</h1>
<p class="lede">${deps.config.smtpUrl ? 'SMTP_URL is set: new mail goes to the SMTP server, not here.' : 'No SMTP_URL: outbound email is written here instead of being sent.'}</p>
${
  files.length === 0
    ? html`<p>Nothing sent yet.</p>`
    : html`<div class="table-wrap"><table><caption>${files.length} message(s), newest first</caption>
<thead><tr><th>When</th><th>To</th><th>Subject</th></tr></thead><tbody>
${files.map((f) => html`<tr><td>${f.modifiedAt.toISOString()}</td><td>${f.to}</td><td><a href="/dev/mail/${f.file}">${f.subject || '(no subject)'}</a></td></tr>`)}
</tbody></table></div>`
}`,
    });
  });

  app.get(
    '/dev/mail/:file',
    {
      preHandler: localOnly,
      schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 200 }) }) },
    },
    async (request, reply) => {
      const content = await readMailFile(deps.config, request.params.file);
      if (content === undefined) return reply.code(404).type('text/plain').send('not found');
      // As text: the browser shows the raw message (headers, both parts) and runs nothing from it.
      return reply.type('text/plain; charset=utf-8').send(content);
    },
  );
};

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}
