import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App, AppDeps } from '../../src/app.ts';
import { AppError, ERROR_CODES } from '../../src/errors/app-error.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';

const INTERNAL_DETAIL = 'secret internal detail at /etc/x';

/** Test-only routes: a validated body, a plain crash and an AppError. */
const testRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (plain) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/test/widgets',
    {
      schema: {
        body: Type.Object({
          name: Type.String({ minLength: 1 }),
          count: Type.Integer({ minimum: 1 }),
        }),
      },
    },
    async (request, reply) =>
      reply.status(201).send({ created: request.body.name, count: request.body.count }),
  );
  app.get('/test/crash', async () => {
    throw new Error(INTERNAL_DETAIL);
  });
  app.get('/test/conflict', async () => {
    throw new AppError('conflict', 'The widget already exists', { widget: 'w-1' });
  });
  app.get('/test/not-ready', async () => {
    throw new AppError('not_ready', 'Warming up');
  });
};

/** Asserts the one error shape, and that the HTTP status is the one the code stands for. */
function expectErrorBody(response: LightMyRequestResponse, code: string) {
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  const error = body.error as Record<string, unknown>;
  expect(typeof error).toBe('object');
  for (const key of Object.keys(error)) expect(['code', 'message', 'details']).toContain(key);
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe('string');
  expect((error.message as string).length).toBeGreaterThan(0);
  expect(Object.keys(ERROR_CODES)).toContain(code);
  expect(response.statusCode).toBe(ERROR_CODES[code as keyof typeof ERROR_CODES]);
  return error as { code: string; message: string; details?: unknown };
}

describe('HTTP errors, request ids, health and docs', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  let app: App;
  const responses: LightMyRequestResponse[] = [];

  /** app.inject, remembering every response for the request-id check. */
  async function inject(options: InjectOptions) {
    const response = await app.inject(options);
    responses.push(response);
    return response;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createTestRuntime(database);
    app = await buildTestApp(runtime, { extraRoutes: [testRoutes] });
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    if (runtime) await clearRedisPrefix(runtime.redisPrefix);
    await database?.destroy();
  });

  it('accepts a valid body on the test route', async () => {
    const response = await inject({ method: 'POST', url: '/test/widgets', payload: { name: 'w', count: 2 } });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ created: 'w', count: 2 });
  });

  it('answers an unknown route with 404 not_found', async () => {
    const response = await inject({ method: 'GET', url: '/no/such/route?x=1' });
    expect(response.statusCode).toBe(404);
    const error = expectErrorBody(response, 'not_found');
    expect(error.message).toContain('/no/such/route');
    expect(error.message).not.toContain('x=1');
    expect(error.details).toBeUndefined();
  });

  it('answers a malformed JSON body with 400 invalid_json', async () => {
    const response = await inject({
      method: 'POST',
      url: '/test/widgets',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "w", "count": ',
    });
    expect(response.statusCode).toBe(400);
    expectErrorBody(response, 'invalid_json');
  });

  it('answers an empty body announced as JSON with 400 invalid_json', async () => {
    const response = await inject({
      method: 'POST',
      url: '/test/widgets',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(response.statusCode).toBe(400);
    expectErrorBody(response, 'invalid_json');
  });

  it('lists every invalid field of a body at once with 400 validation_failed', async () => {
    const response = await inject({ method: 'POST', url: '/test/widgets', payload: { count: 0 } });
    expect(response.statusCode).toBe(400);
    const error = expectErrorBody(response, 'validation_failed');
    const details = error.details as { fields: { field: string; message: string }[] };
    expect(Object.keys(details)).toEqual(['fields']);
    expect(details.fields.map((f) => f.field).sort()).toEqual(['body.count', 'body.name']);
    for (const field of details.fields) {
      expect(typeof field.message).toBe('string');
      expect(field.message.length).toBeGreaterThan(0);
    }
    expect(error.message).toContain('body.name');
    expect(error.message).toContain('body.count');
  });

  it('answers an unsupported content type with 415 unsupported_media_type', async () => {
    const response = await inject({
      method: 'POST',
      url: '/test/widgets',
      headers: { 'content-type': 'application/xml' },
      payload: '<widget><name>w</name><count>1</count></widget>',
    });
    expect(response.statusCode).toBe(415);
    expectErrorBody(response, 'unsupported_media_type');
  });

  it('answers a body over 1 MiB with 413 payload_too_large', async () => {
    const payload = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10), count: 1 });
    const response = await inject({
      method: 'POST',
      url: '/test/widgets',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(response.statusCode).toBe(413);
    expectErrorBody(response, 'payload_too_large');
  });

  it('answers an AppError with its own status, code, message and details', async () => {
    const conflict = await inject({ method: 'GET', url: '/test/conflict' });
    expect(conflict.statusCode).toBe(409);
    const error = expectErrorBody(conflict, 'conflict');
    expect(error.message).toBe('The widget already exists');
    expect(error.details).toEqual({ widget: 'w-1' });

    const notReady = await inject({ method: 'GET', url: '/test/not-ready' });
    expect(notReady.statusCode).toBe(503);
    expect(expectErrorBody(notReady, 'not_ready').message).toBe('Warming up');
  });

  it('answers a crash with 500 internal_error, hiding the detail but naming the request id', async () => {
    const response = await inject({ method: 'GET', url: '/test/crash' });
    expect(response.statusCode).toBe(500);
    const error = expectErrorBody(response, 'internal_error');
    expect(error.message).not.toContain(INTERNAL_DETAIL);
    expect(error.message).not.toContain('/etc/x');
    expect(response.body).not.toContain('/etc/x');
    const requestId = response.headers['x-request-id'];
    expect(typeof requestId).toBe('string');
    expect(error.message).toContain(requestId as string);
    expect(error.details).toBeUndefined();
  });

  it('echoes a valid incoming x-request-id', async () => {
    for (const id of ['abc-123', 'trace.id:42_x', 'a'.repeat(128)]) {
      const response = await inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } });
      expect(response.headers['x-request-id']).toBe(id);
    }
    const crash = await inject({
      method: 'GET',
      url: '/test/crash',
      headers: { 'x-request-id': 'req-crash-1' },
    });
    expect(crash.headers['x-request-id']).toBe('req-crash-1');
    expect(crash.json().error.message).toContain('req-crash-1');
  });

  it('replaces an invalid incoming x-request-id with a fresh one', async () => {
    for (const id of ['has spaces in it', 'a'.repeat(200), 'semi;colon', '<script>']) {
      const response = await inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } });
      const given = response.headers['x-request-id'];
      expect(typeof given).toBe('string');
      expect(given).not.toBe(id);
      expect(given).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    }
  });

  it('gives each request without an id a different one', async () => {
    const a = await inject({ method: 'GET', url: '/healthz' });
    const b = await inject({ method: 'GET', url: '/healthz' });
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('answers GET /healthz with 200 ok', async () => {
    const response = await inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('answers GET /readyz with 200 when the database and the queue are reachable', async () => {
    const response = await inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok', queue: 'ok' } });
  });

  it('serves an OpenAPI 3.1 document listing the health routes and the ErrorResponse schema', async () => {
    const response = await inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json() as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz']));
    expect(doc.paths['/healthz']).toHaveProperty('get');
    expect(doc.paths['/readyz']).toHaveProperty('get');
    const errorSchema = doc.components?.schemas?.ErrorResponse;
    expect(errorSchema).toBeDefined();
    expect(errorSchema?.properties).toHaveProperty('error');
    // The 503 of /readyz points at that schema.
    expect(JSON.stringify(doc.paths['/readyz'])).toContain('ErrorResponse');
  });

  it('serves the documentation UI as HTML', async () => {
    let response = await inject({ method: 'GET', url: '/docs' });
    for (let hops = 0; hops < 3 && response.statusCode >= 300 && response.statusCode < 400; hops++) {
      const location = response.headers.location as string;
      expect(location).toBeTruthy();
      response = await inject({ method: 'GET', url: new URL(location, 'http://localhost/docs').pathname });
    }
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body.toLowerCase()).toContain('<html');
  });

  // Runs last: every response above must have carried a request id.
  it('puts an x-request-id header on every response', () => {
    expect(responses.length).toBeGreaterThan(15);
    for (const response of responses) {
      const id = response.headers['x-request-id'];
      expect(typeof id, `${response.raw.req.method} ${response.raw.req.url}`).toBe('string');
      expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    }
  });
});
