import Fastify from 'fastify';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { lazySchemaCompilers, lowerCaseHeaderNames } from '../../src/http/lazy-schema-compilers.ts';

/** The same route on an app with Fastify's compilers or the lazy ones, with the app's Ajv options. */
async function appWith(lazy: boolean) {
  const app = Fastify({
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false } },
    ...(lazy ? { schemaController: { compilersFactory: lazySchemaCompilers() } } : {}),
  });
  app.addSchema({
    $id: 'Money',
    type: 'object',
    properties: { amount: { type: 'string', pattern: '^[0-9]+$' } },
  });
  app.post(
    '/things/:id',
    {
      schema: {
        params: Type.Object({ id: Type.Integer() }),
        querystring: Type.Object({ tags: Type.Optional(Type.Array(Type.String())) }),
        body: Type.Object(
          {
            name: Type.String({ minLength: 2 }),
            price: { $ref: 'Money#' },
            count: Type.Integer({ minimum: 1 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ id: Type.Integer(), name: Type.String(), tags: Type.Array(Type.String()) }),
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: number };
      const { tags = [] } = request.query as { tags?: string[] };
      return { id, name: (request.body as { name: string }).name, tags, secret: 'not in the schema' };
    },
  );
  // A headers schema naming its headers as they are usually written, not as Node gives them.
  app.get(
    '/versioned',
    {
      schema: {
        headers: {
          type: 'object',
          required: ['X-Api-Version'],
          properties: { 'X-Api-Version': { type: 'string', pattern: '^v[0-9]+$' } },
        },
      },
    },
    async (request) => ({ version: request.headers['x-api-version'] }),
  );
  await app.ready();
  return app;
}

describe('lazySchemaCompilers', () => {
  it('validates, coerces and serializes exactly as Fastify’s own compilers do', async () => {
    const eager = await appWith(false);
    const lazy = await appWith(true);
    const requests = [
      { url: '/things/7?tags=a', payload: { name: 'Lamp', price: { amount: '1200' }, count: 2 } },
      { url: '/things/x', payload: { name: 'L', price: { amount: '12.5' }, count: 0, extra: true } },
      { url: '/things/8', payload: { name: 'Desk' } },
      { url: '/things/9?tags=a&tags=b', payload: { name: 'Chair', price: { amount: '1' }, count: 1 } },
    ];
    for (const request of requests) {
      const [a, b] = await Promise.all(
        [eager, lazy].map((app) => app.inject({ method: 'POST', ...request })),
      );
      expect(b!.statusCode).toBe(a!.statusCode);
      expect(b!.body).toBe(a!.body);
    }
    // Each answer above was checked against the eager app; a few spot checks of what they were.
    const ok = await lazy.inject({ method: 'POST', ...requests[0]! });
    expect(ok.json()).toEqual({ id: 7, name: 'Lamp', tags: ['a'] });
    const bad = await lazy.inject({ method: 'POST', ...requests[1]! });
    expect(bad.statusCode).toBe(400);
    await Promise.all([eager.close(), lazy.close()]);
  });

  it('validates a headers schema written in mixed case as Fastify’s own compilers do', async () => {
    const eager = await appWith(false);
    const lazy = await appWith(true);
    const requests = [
      { headers: { 'X-Api-Version': 'v2' } },
      { headers: { 'x-api-version': 'two' } },
      { headers: {} },
    ];
    const answers = [];
    for (const request of requests) {
      const [a, b] = await Promise.all(
        [eager, lazy].map((app) => app.inject({ method: 'GET', url: '/versioned', ...request })),
      );
      expect(b!.statusCode).toBe(a!.statusCode);
      expect(b!.body).toBe(a!.body);
      answers.push(b!);
    }
    // Without lowercasing, the required header would never be found and every request would fail.
    expect(answers[0]!.json()).toEqual({ version: 'v2' });
    expect(answers.slice(1).map((answer) => answer.statusCode)).toEqual([400, 400]);
    await Promise.all([eager.close(), lazy.close()]);
  });

  it('lowercases header names wherever a schema names them, and nothing else', () => {
    const schema = {
      type: 'object',
      required: ['X-Tenant'],
      properties: { 'X-Tenant': { type: 'string', enum: ['Acme'] } },
      dependentRequired: { 'X-Signature': ['X-Timestamp'] },
      anyOf: [{ required: ['Authorization'] }, { properties: { 'X-Key': { const: 'K' } } }],
      propertyNames: { not: { enum: ['X-Forbidden'] } },
      patternProperties: { '^X-': { type: 'string' } },
    };
    expect(lowerCaseHeaderNames(schema)).toEqual({
      type: 'object',
      required: ['x-tenant'],
      // Values are header values: kept as written.
      properties: { 'x-tenant': { type: 'string', enum: ['Acme'] } },
      dependentRequired: { 'x-signature': ['x-timestamp'] },
      anyOf: [{ required: ['authorization'] }, { properties: { 'x-key': { const: 'K' } } }],
      // Inside propertyNames, enum and const hold header names.
      propertyNames: { not: { enum: ['x-forbidden'] } },
      patternProperties: { '^X-': { type: 'string' } },
    });
    // The schema Fastify holds is not changed.
    expect(schema.required).toEqual(['X-Tenant']);
  });
});
