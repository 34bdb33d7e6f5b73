import { type App, buildApp } from './app.ts';
import { type InboundSmtp, startConfiguredSmtp } from './messaging/inbound-smtp.ts';
import type { Runtime } from './runtime.ts';

export interface RunningApi {
  app: App;
  /** The URL the server listens on (not PUBLIC_URL). */
  url: string;
  /** The built-in SMTP receiver for partner replies, when it runs; closed with the app. */
  smtp?: InboundSmtp;
}

/** The api role: serves HTTP and relays the outbox (so work accepted here is handed on promptly). */
export async function startApi(runtime: Runtime): Promise<RunningApi> {
  const { config, db, queue, services, logger } = runtime;
  const app = await buildApp({ config, db, queue, services, logger });
  const smtp = await startConfiguredSmtp({ db, config, log: logger });
  if (smtp) app.addHook('onClose', () => smtp.close());
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await smtp?.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  runtime.relay.start();
  return {
    app,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    ...(smtp ? { smtp } : {}),
  };
}
