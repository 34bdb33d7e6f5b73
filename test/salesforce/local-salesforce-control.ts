import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { SalesforceError } from './local-salesforce-errors.ts';
import type { LocalSalesforceState } from './local-salesforce-state.ts';

/**
 * Not Salesforce: `/local/…` routes for a person driving the local org by hand (the run script),
 * standing for what a sales rep does in the Salesforce UI: create, edit, delete and undelete
 * records (change events follow, with an empty changeOrigin), list records, emit a gap event.
 */
type Body = Record<string, unknown>;

async function attempt(reply: FastifyReply, work: () => unknown) {
  try {
    return (await work()) ?? reply.code(204).send();
  } catch (error) {
    if (!(error instanceof SalesforceError)) throw error;
    return reply.code(error.status).send(error.body());
  }
}

export const localSalesforceControl: FastifyPluginAsync<{ state: LocalSalesforceState }> = async (
  app,
  { state },
) => {
  type Params = { type: string; id: string };

  app.get('/local/sobjects/:type', async (request, reply) =>
    attempt(reply, () => [...state.store.table((request.params as Params).type).values()]),
  );
  app.post('/local/sobjects/:type', async (request, reply) =>
    attempt(reply, () => {
      const { type } = request.params as Params;
      const id = state.userWrite((ctx) => state.store.insert(ctx, type, (request.body ?? {}) as Body));
      return reply.code(201).send({ id });
    }),
  );
  app.patch('/local/sobjects/:type/:id', async (request, reply) =>
    attempt(reply, () => {
      const { type, id } = request.params as Params;
      state.userWrite((ctx) => state.store.update(ctx, type, id, (request.body ?? {}) as Body));
    }),
  );
  app.delete('/local/sobjects/:type/:id', async (request, reply) =>
    attempt(reply, () => {
      const { type, id } = request.params as Params;
      state.userWrite((ctx) => state.store.remove(ctx, type, id));
    }),
  );
  app.post('/local/sobjects/:type/:id/undelete', async (request, reply) =>
    attempt(reply, () => {
      const { type, id } = request.params as Params;
      state.userWrite((ctx) => state.store.undelete(ctx, type, id));
    }),
  );
  app.post('/local/gap', async (request, reply) => {
    const body = (request.body ?? {}) as { kind?: string; recordIds?: string[] };
    if (body.kind !== 'GAP_UPDATE' && body.kind !== 'GAP_OVERFLOW')
      return reply.code(400).send({ message: 'kind must be GAP_UPDATE or GAP_OVERFLOW' });
    state.emit('gap', body.kind, body.recordIds ?? []);
    return reply.code(204).send();
  });
};
