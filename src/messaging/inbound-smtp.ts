import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { replyDomainOf } from './inbound-config.ts';
import { recordRefusedMessage, storeInboundMessage } from './inbound-message.repository.ts';

/** The port the embedded `start` receives replies on when INBOUND_SMTP_PORT is unset. */
export const EMBEDDED_SMTP_PORT = 2525;
const HEAD_KEPT = 64 * 1024;
const MAX_RECIPIENTS = 20;

export interface InboundSmtp {
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) =>
  Object.assign(new Error(message), { responseCode: code });

/**
 * The built-in SMTP receiver, for self-hosters without an inbound provider and for tests. It takes
 * mail only for the reply domain (refused at RCPT, so nothing is accepted and bounced later),
 * advertises and enforces the size limit, stores each message raw with its processing enqueued, and
 * answers 250 only after that commits; a database failure answers 451 so the sender retries.
 */
export async function startInboundSmtp(deps: {
  db: Db;
  config: Config;
  log: Logger;
  port: number;
  host?: string;
}): Promise<InboundSmtp> {
  const { db, config, log } = deps;
  const domain = replyDomainOf(config);
  const maxBytes = config.inboundMaxBytes;
  const server = new SMTPServer({
    name: domain,
    banner: 'PartnerLoop reply receiver',
    size: maxBytes,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    maxClients: 50,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    onRcptTo(address, session, callback) {
      const at = address.address.toLowerCase();
      if (!at.endsWith(`@${domain}`))
        return callback(smtpError(550, `5.1.1 <${address.address}>: no such mailbox here`));
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS)
        return callback(smtpError(452, '4.5.3 Too many recipients'));
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let kept = 0;
      let total = 0;
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        // Past the limit, keep reading (the client is still sending) but stop buffering.
        if (kept + chunk.length <= maxBytes) {
          chunks.push(chunk);
          kept += chunk.length;
        }
      });
      stream.on('end', () => {
        const envelope = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          rcptTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          remoteAddress: session.remoteAddress,
        };
        const raw = Buffer.concat(chunks);
        if (stream.sizeExceeded || total > maxBytes) {
          const reason = `oversized: ${total} bytes > ${maxBytes}`;
          recordRefusedMessage(db, {
            channel: 'smtp',
            head: raw.subarray(0, HEAD_KEPT),
            size: total,
            reason,
            envelope,
          }).then(
            () => callback(smtpError(552, `5.3.4 Message too big (limit ${maxBytes} bytes)`)),
            (error) => {
              log.error({ err: error }, 'could not record an oversized inbound email');
              callback(smtpError(552, `5.3.4 Message too big (limit ${maxBytes} bytes)`));
            },
          );
          return;
        }
        db.transaction()
          .execute((tx) => storeInboundMessage(tx, { channel: 'smtp', raw, envelope }))
          .then(
            (stored) =>
              callback(null, `2.0.0 Ok: queued as ${stored.id}${stored.duplicate ? ' (duplicate)' : ''}`),
            (error) => {
              log.error({ err: error }, 'could not store an inbound email');
              callback(smtpError(451, '4.3.0 Temporary failure, try again later'));
            },
          );
      });
    },
  });
  server.on('error', (error) => log.warn({ err: error }, 'inbound SMTP receiver error'));
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.server.once('error', onError);
    server.listen(deps.port, deps.host ?? config.host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closed;
    },
  };
}

/**
 * Starts the receiver the configuration asks for: INBOUND_SMTP_PORT when set; in the embedded
 * default (no DATABASE_URL, not under test) port 2525, skipped with a warning when that port is
 * taken, since an explicit setting is the way to insist on it.
 */
export async function startConfiguredSmtp(deps: {
  db: Db;
  config: Config;
  log: Logger;
}): Promise<InboundSmtp | undefined> {
  const { config, log } = deps;
  const explicit = config.inboundSmtpPort;
  const embedded = !config.databaseUrl && config.nodeEnv !== 'test';
  if (explicit === undefined && !embedded) return undefined;
  try {
    const smtp = await startInboundSmtp({ ...deps, port: explicit ?? EMBEDDED_SMTP_PORT });
    log.info({ port: smtp.port, domain: replyDomainOf(config) }, 'inbound SMTP receiver listening');
    return smtp;
  } catch (error) {
    if (explicit !== undefined) throw error;
    log.warn(
      { err: error, port: EMBEDDED_SMTP_PORT },
      'inbound SMTP receiver not started (set INBOUND_SMTP_PORT)',
    );
    return undefined;
  }
}
