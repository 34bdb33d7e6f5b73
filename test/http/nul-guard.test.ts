import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../../src/http/error-handler.ts';
import { installNulGuard } from '../../src/http/nul-guard.ts';

// PostgreSQL's text and jsonb cannot hold U+0000: a request carrying it must be a 400 naming the
// field before any handler runs, not a 500 from deep inside a write.
describe('NUL characters in requests', () => {
  const app = Fastify();
  const reached: string[] = [];

  beforeAll(async () => {
    installErrorHandling(app);
    installNulGuard(app);
    app.post('/things/:name', async (request) => {
      reached.push(request.url);
      return { ok: true };
    });
    app.register(async (raw) => {
      // A route that keeps its body as bytes (as the HubSpot webhook does) is left to check it itself.
      raw.removeContentTypeParser('application/json');
      raw.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
        done(null, body),
      );
      raw.post('/raw', async (request) => ({ bytes: (request.body as Buffer).length }));
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (url: string, payload: unknown) =>
    app.inject({
      method: 'POST',
      url,
      payload: JSON.stringify(payload),
      headers: { 'content-type': 'application/json' },
    });

  it.each([
    ['a body string', '/things/a', { items: [{ name: 'ok' }, { name: 'x\u0000y' }] }, 'body.items[1].name'],
    ['a body key', '/things/a', { meta: { 'k\u0000': 1 } }, 'body.meta.k\\u0000'],
    ['a query value', '/things/a?search=a%00b', {}, 'querystring.search'],
    ['a path parameter', '/things/a%00b', {}, 'params.name'],
  ])('refuses %s with a 400 naming %s; the handler never runs', async (_label, url, payload, field) => {
    const before = reached.length;
    const res = await post(url, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({
      code: 'validation_failed',
      message: `Invalid request: ${field} must not contain the NUL character`,
      details: { fields: [{ field, message: 'must not contain the NUL character' }] },
    });
    expect(reached.length).toBe(before);
  });

  it('lets through the same requests without the NUL, an escaped "\\\\u0000" text, and a raw-bytes body', async () => {
    expect((await post('/things/a?search=ab', { items: [{ name: 'xy' }] })).statusCode).toBe(200);
    // A backslash followed by "u0000" is six ordinary characters.
    expect((await post('/things/a', { name: '\\u0000' })).statusCode).toBe(200);
    const raw = await app.inject({
      method: 'POST',
      url: '/raw',
      payload: '{"a":"\\u0000"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(raw.statusCode).toBe(200);
    expect(raw.json()).toEqual({ bytes: 14 });
  });
});
