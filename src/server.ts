import { type App, buildApp } from './app.ts';
import type { Runtime } from './runtime.ts';

export interface RunningApi {
  app: App;
  /** The URL the server listens on (not PUBLIC_URL). */
  url: string;
}

/** The api role: serves HTTP and relays the outbox (so work accepted here is handed on promptly). */
export async function startApi(runtime: Runtime): Promise<RunningApi> {
  const { config, db, queue, services, logger } = runtime;
  const app = await buildApp({ config, db, queue, services, logger });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  runtime.relay.start();
  return { app, url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}` };
}
