import { connect } from 'node:net';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InboundSmtp, startInboundSmtp } from '../../src/messaging/inbound-smtp.ts';
import { startApi } from '../../src/server.ts';
import { createTestRuntime } from '../helpers/test-runtime.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { type InboundWorld, openInboundWorld } from './inbound-world.ts';

let w: InboundWorld;
let smtp: InboundSmtp;
beforeAll(async () => {
  w = await openInboundWorld();
  smtp = await startInboundSmtp({
    db: w.runtime.db,
    config: w.runtime.config,
    log: w.runtime.logger,
    port: 0,
    host: '127.0.0.1',
  });
});
afterAll(async () => {
  await smtp?.close();
  await w?.close();
});

const transport = () =>
  nodemailer.createTransport({
    host: '127.0.0.1',
    port: smtp.port,
    secure: false,
    ignoreTLS: true,
    name: 'mail.partner.example',
  });

/** The server's answer to EHLO, over a plain socket. */
function ehlo(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (text.startsWith('220') && !text.includes('EHLO-SENT')) {
        text += 'EHLO-SENT';
        socket.write('EHLO client.example\r\n');
      }
      if (/\r\n250 [^\r\n]*\r\n$/.test(text)) {
        socket.end('QUIT\r\n');
        resolve(text);
      }
    });
    socket.on('error', reject);
  });
}

describe('the built-in SMTP receiver', () => {
  it('takes a reply over a real SMTP conversation and the note lands on the registration', async () => {
    const token = await w.token();
    const info = await transport().sendMail({
      from: 'Jane Partner <jane@partner.example>',
      to: `reply+${token}@${w.domain}`,
      subject: 'Re: Your registration was approved',
      text: 'Sent over SMTP: kickoff is on Monday.\n\nOn Mon, Acme <updates@acme.example> wrote:\n> ## Reply above this line ##\n> Approved.',
    });
    expect(info.accepted).toEqual([`reply+${token}@${w.domain}`]);
    expect(info.response).toMatch(/^250 .*queued as/);
    const row = await w.processed(info.messageId);
    expect(row).toMatchObject({ status: 'processed', channel: 'smtp' });
    expect(row.envelope.rcptTo).toEqual([`reply+${token}@${w.domain}`]);
    expect((await w.notes()).map((n) => n.body)).toContain('Sent over SMTP: kickoff is on Monday.');
  });

  it('refuses recipients outside the reply domain at RCPT TO, so nothing is accepted then bounced', async () => {
    await expect(
      transport().sendMail({
        from: 'jane@partner.example',
        to: 'someone@elsewhere.example',
        subject: 'x',
        text: 'y',
      }),
    ).rejects.toMatchObject({ responseCode: 550 });
  });

  it('advertises SIZE and refuses a bigger message with 552, recording the refusal without a note', async () => {
    expect(await ehlo(smtp.port)).toMatch(
      new RegExp(`250[- ]SIZE ${w.runtime.config.inboundMaxBytes}\\r\\n`),
    );
    const token = await w.token();
    const messageId = `<big-${Date.now()}@mail.partner.example>`;
    await expect(
      transport().sendMail({
        from: 'jane@partner.example',
        to: `reply+${token}@${w.domain}`,
        subject: 'A very large reply',
        messageId,
        text: 'x'.repeat(w.runtime.config.inboundMaxBytes + 1000),
      }),
    ).rejects.toMatchObject({ responseCode: 552 });
    const row = await waitFor('refusal recorded', () =>
      w.runtime.db
        .selectFrom('inbound_messages')
        .selectAll()
        .where('message_id', '=', messageId)
        .executeTakeFirst(),
    );
    expect(row).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^oversized/) });
    expect(row.raw.length).toBeLessThanOrEqual(64 * 1024);
    const notes = await w.runtime.db
      .selectFrom('timeline_notes')
      .select('id')
      .where('inbound_message_id', '=', row.id)
      .execute();
    expect(notes).toEqual([]);
  });

  it('starts and stops with the API when INBOUND_SMTP_PORT is set', async () => {
    const runtime = await createTestRuntime(w.database, {
      env: { ...w.runtime.env, INBOUND_SMTP_PORT: '0', PORT: '0', REDIS_PREFIX: `${w.runtime.redisPrefix}x` },
    });
    const api = await startApi(runtime);
    try {
      expect(api.smtp?.port).toBeGreaterThan(0);
      expect(await ehlo(api.smtp!.port)).toMatch(/250[- ]SIZE /);
    } finally {
      await api.app.close();
      await runtime.close();
    }
    await expect(ehlo(api.smtp!.port)).rejects.toThrow();
  });
});
