import Fastify from 'fastify';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { lazySchemaCompilers } from '../../src/http/lazy-schema-compilers.ts';

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
});
