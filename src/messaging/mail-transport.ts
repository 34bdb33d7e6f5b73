import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { Config } from '../config.ts';

/**
 * Where outbound email goes: the SMTP server of SMTP_URL, or, with none configured (the embedded
 * default), `.eml` files in DATA_DIR/mail/ that the app lists at /dev/mail. Both sign with DKIM
 * when a key is configured, so what a developer sees in the file is what the MTA would receive.
 */
export interface MailTransport {
  kind: 'smtp' | 'files';
  send(message: Mail.Options): Promise<{ response: string; file?: string }>;
}

export function mailDir(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'mail');
}

const transports = new WeakMap<Config, MailTransport>();

/** One transport per configuration, built on first use. */
export function mailTransport(config: Config): MailTransport {
  let transport = transports.get(config);
  if (!transport) {
    transport = config.smtpUrl ? smtpTransport(config.smtpUrl, config) : fileTransport(config);
    transports.set(config, transport);
  }
  return transport;
}

function smtpTransport(smtpUrl: string, config: Config): MailTransport {
  const transporter = nodemailer.createTransport(smtpUrl, config.dkim ? { dkim: config.dkim } : {});
  return {
    kind: 'smtp',
    async send(message) {
      const info = await transporter.sendMail(message);
      if (info.rejected.length > 0)
        throw new Error(`SMTP server rejected ${info.rejected.length} recipient(s)`);
      return { response: String(info.response) };
    },
  };
}

function fileTransport(config: Config): MailTransport {
  const transporter = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    ...(config.dkim ? { dkim: config.dkim } : {}),
  });
  const dir = mailDir(config);
  return {
    kind: 'files',
    async send(message) {
      const info = await transporter.sendMail(message);
      await mkdir(dir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = `${stamp}-${randomBytes(4).toString('hex')}.eml`;
      // Written then renamed, so the listing never shows half a message.
      const temporary = path.join(dir, `.${file}.tmp`);
      await writeFile(temporary, info.message as Buffer);
      await rename(temporary, path.join(dir, file));
      return { response: `written ${file}`, file };
    },
  };
}

export interface MailFile {
  file: string;
  size: number;
  modifiedAt: Date;
  subject: string;
  to: string;
}

const EML_NAME = /^[\w-]+\.eml$/;

/** The `.eml` files of the embedded transport, newest first, with their subject and recipient. */
export async function listMailFiles(config: Pick<Config, 'dataDir'>, limit = 200): Promise<MailFile[]> {
  const dir = mailDir(config);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => EML_NAME.test(name));
  } catch {
    return [];
  }
  names.sort().reverse();
  return Promise.all(
    names.slice(0, limit).map(async (file) => {
      const full = path.join(dir, file);
      const [info, head] = await Promise.all([stat(full), readFile(full, 'utf8')]);
      const headers = head.split(/\r?\n\r?\n/, 1)[0] ?? '';
      return {
        file,
        size: info.size,
        modifiedAt: info.mtime,
        subject: decodeHeader(headerValue(headers, 'subject')),
        to: decodeHeader(headerValue(headers, 'to')),
      };
    }),
  );
}

export async function readMailFile(
  config: Pick<Config, 'dataDir'>,
  file: string,
): Promise<string | undefined> {
  if (!EML_NAME.test(file)) return undefined;
  try {
    return await readFile(path.join(mailDir(config), file), 'utf8');
  } catch {
    return undefined;
  }
}

function headerValue(headers: string, name: string): string {
  const match = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(headers);
  return match?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim() ?? '';
}

/** Enough of RFC 2047 for the listing: nodemailer writes UTF-8 B or Q encoded words. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9a-f]{2})/gi, (_x, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          ).toString('utf8'),
    );
}
