import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { errorBody } from '../errors/app-error.ts';

const CHECK_TIMEOUT_MS = 1_500;

const Checks = Type.Object({ database: Type.String(), queue: Type.String() });

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    // Only the kind of failure: a driver message may carry a host name or user.
    const reason = error instanceof Error && error.message === 'timed out' ? 'timed out' : 'unreachable';
    return reason;
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up and answering',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: the database and the job queue can be reached',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Checks }),
          503: { $ref: 'ErrorResponse#' },
        },
      },
    },
    async (_request, reply) => {
      const [database, queue] = await Promise.all([
        check(() => sql`select 1`.execute(deps.db)),
        check(() => deps.queue.ping()),
      ]);
      const checks = { database, queue };
      const failing = Object.entries(checks).filter(([, status]) => status !== 'ok');
      if (failing.length > 0) {
        const what = failing.map(([name, status]) => `${name} ${status}`).join(', ');
        return reply.status(503).send(errorBody('not_ready', `Not ready: ${what}`, { checks }));
      }
      return { status: 'ready' as const, checks };
    },
  );
};
