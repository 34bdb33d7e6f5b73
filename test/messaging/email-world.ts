import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { App } from '../../src/app.ts';
import type { Clock } from '../../src/clock.ts';
import type { PartnerContactRow, PartnerRow } from '../../src/partners/partner.table.ts';
import type { ProgramRow } from '../../src/programs/program.table.ts';
import { makeContact, makePartner } from '../factories/partner.factory.ts';
import { makeEnrolment, makeProgram } from '../factories/program.factory.ts';
import { makeTenant, type TenantWithKeys } from '../factories/tenant.factory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from '../helpers/test-runtime.ts';

/** An SMTP server the test starts: what the app sends arrives here, parsed, with its raw source. */
export interface Inbox {
  url: string;
  messages: (ParsedMail & { raw: string; envelopeTo: string[] })[];
  /** Answer the next message to `address` with a temporary failure (451). */
  failOnceFor(address: string): void;
  close(): Promise<void>;
}

export async function startSmtpInbox(): Promise<Inbox> {
  const messages: Inbox['messages'] = [];
  const failing = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const to = session.envelope.rcptTo.map((r) => r.address).find((a) => failing.has(a));
        if (to) {
          failing.delete(to);
          const error = new Error('try again later') as Error & { responseCode: number };
          error.responseCode = 451;
          callback(error);
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const parsed = await simpleParser(raw);
        messages.push(
          Object.assign(parsed, { raw, envelopeTo: session.envelope.rcptTo.map((r) => r.address) }),
        );
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    failOnceFor(address) {
      failing.add(address);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface EmailWorld {
  database: TestDatabase;
  runtime: TestRuntime;
  app: App;
  t: TenantWithKeys;
  program: ProgramRow;
  partner: PartnerRow;
  contacts: PartnerContactRow[];
  /** Starts the relay and workers: events then flow to emails on their own. */
  startWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** A tenant with branding, a program, an enrolled partner with two contacts, and a runtime over `env`. */
export async function openEmailWorld(
  options: { env?: Record<string, string | undefined>; clock?: Clock } = {},
): Promise<EmailWorld> {
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, {
    env: {
      PUBLIC_URL: 'https://partners.example.com',
      INBOUND_EMAIL_DOMAIN: 'reply.example.com',
      ...options.env,
    },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const app = await buildTestApp(runtime);
  const db = runtime.db;
  const t = await makeTenant(db, { name: 'Acme Cloud' });
  await db
    .updateTable('tenants')
    .set({
      settings: JSON.stringify({
        branding: {
          color: '#aa3300',
          logoUrl: 'https://cdn.example.com/acme.png',
          senderName: 'Acme Partners',
        },
      }),
    })
    .where('id', '=', t.tenant.id)
    .execute();
  const program = await makeProgram(db, t.tenant.id, { name: 'Resellers' });
  const partner = await makePartner(db, t.tenant.id, { name: 'Northwind Consulting' });
  await makeEnrolment(db, t.tenant.id, program.id, partner.id);
  const contacts = [
    await makeContact(db, t.tenant.id, partner.id, { name: 'Ada Lovelace', email: 'ada@northwind.example' }),
    await makeContact(db, t.tenant.id, partner.id, { name: 'Bob Byte', email: 'bob@northwind.example' }),
  ];
  return {
    database,
    runtime,
    app,
    t,
    program,
    partner,
    contacts,
    async startWorkers() {
      await runtime.queue.startWorkers(runtime.registry.queues());
      runtime.relay.start();
    },
    async close() {
      await app.close();
      await runtime.close();
      await clearRedisPrefix(runtime.redisPrefix);
      await database.destroy();
    },
  };
}
