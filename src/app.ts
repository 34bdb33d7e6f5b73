import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import { ErrorResponse } from './errors/error-schema.ts';
import { healthRoutes } from './health/health.routes.ts';
import { installErrorHandling } from './http/error-handler.ts';
import { lazySchemaCompilers } from './http/lazy-schema-compilers.ts';
import { installNulGuard } from './http/nul-guard.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import { apiRoutes, pageRoutes } from './routes.ts';
import type { Services } from './services.ts';

/** What the HTTP layer needs; feature routes receive it as their plugin options. */
export interface AppDeps {
  config: Config;
  db: Db;
  queue: JobQueue;
  services: Services;
  logger: Logger;
  /** Extra route plugins, registered after the feature routes (used by tests and embedders). */
  extraRoutes?: FastifyPluginAsync<{ deps: AppDeps }>[];
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // allErrors: a 400 lists every bad field at once, not only the first.
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false } },
    schemaController: { compilersFactory: lazySchemaCompilers() },
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // While closing, answer in-flight requests with `Connection: close`, so keep-alive clients let go
  // and close() completes instead of waiting on their idle sockets.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  // Infrastructure first: errors, schemas, documentation.
  installErrorHandling(app);
  installNulGuard(app);
  app.addSchema(ErrorResponse);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'PartnerLoop API',
        version: '1',
        description: 'Partner program inside your CRM: partners, registrations, commissions, payouts.',
      },
      servers: [{ url: deps.config.publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key (plk_…) for staff' },
          partnerLink: {
            type: 'http',
            scheme: 'bearer',
            description: 'A partner link token for partner contacts',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Then features.
  await app.register(healthRoutes, { deps });
  for (const routes of apiRoutes) await app.register(routes, { deps, prefix: '/api/v1' });
  for (const routes of pageRoutes) await app.register(routes, { deps });
  for (const routes of deps.extraRoutes ?? []) await app.register(routes, { deps });

  return app;
}
