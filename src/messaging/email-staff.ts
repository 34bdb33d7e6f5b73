import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { Services } from '../services.ts';
import type { Branding } from './branding.ts';
import { type CompiledEmail, compileMjml, type RenderedEmail, renderCompiled } from './email-templates.ts';
import { mailTransport } from './mail-transport.ts';
import { parseTemplate, type TemplateData } from './template-engine.ts';

/**
 * Emails to the tenant's own staff (the deal owner, the team's notification address). Unlike partner
 * emails they carry no reply token and no unsubscribe link (staff settings decide who gets them), so
 * their templates are whole MJML documents of their own rather than bodies of the partner layout.
 * Each is sent at most once per idempotency key, recorded in `sent_emails` like every other email.
 */

export const STAFF_TEMPLATES = {
  'partner-reply': {
    subject: 'Reply from {{note.authorName}} ({{partner.name}}){{#deal.name}} on {{deal.name}}{{/deal.name}}',
  },
  'crm-disconnected': {
    subject: '{{crm.name}} is disconnected: partner program syncing is paused',
  },
} as const;
export type StaffTemplateName = keyof typeof STAFF_TEMPLATES;

const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
const cache = new Map<StaffTemplateName, Promise<CompiledEmail>>();

async function compileStaffTemplate(name: StaffTemplateName): Promise<CompiledEmail> {
  const [mjml, text] = await Promise.all([
    readFile(`${TEMPLATES_DIR}${name}.mjml`, 'utf8'),
    readFile(`${TEMPLATES_DIR}${name}.txt`, 'utf8'),
  ]);
  return {
    subject: parseTemplate(STAFF_TEMPLATES[name].subject, 'text'),
    html: parseTemplate(await compileMjml(mjml), 'html'),
    text: parseTemplate(text, 'text'),
  };
}

export async function renderStaffEmail(name: StaffTemplateName, data: TemplateData): Promise<RenderedEmail> {
  let compiled = cache.get(name);
  if (!compiled) {
    compiled = compileStaffTemplate(name);
    compiled.catch(() => cache.delete(name));
    cache.set(name, compiled);
  }
  return renderCompiled(await compiled, data);
}

export interface StaffEmail {
  tenantId: string;
  /** Names what the email is about (`note/<id>`): with the template, the idempotency key. */
  eventId: string;
  template: StaffTemplateName;
  to: string;
  branding: Branding;
  data: TemplateData;
}

/** Sends one staff email at most once (same claim-send-record steps as sendEmailOnce). */
export async function sendStaffEmailOnce(
  db: Db,
  services: Services,
  email: StaffEmail,
  log?: Logger,
): Promise<'sent' | 'already_sent'> {
  const { config } = services;
  const key = `${email.eventId}/staff/${email.template}`;
  const domain = config.inboundEmailDomain;
  const messageId = `<s.${createHash('sha256').update(`${email.tenantId}/${key}`).digest('hex').slice(0, 32)}@${domain}>`;
  const claimed = await db
    .insertInto('sent_emails')
    .values({
      tenant_id: email.tenantId,
      idempotency_key: key,
      message_id: messageId,
      template: email.template,
      event_id: email.eventId,
      contact_id: null,
      to_address: email.to,
      subject: '',
      thread_key: `staff/${email.eventId}`,
      reply_token_id: null,
      status: 'sending',
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'idempotency_key'])
        .doUpdateSet({ status: 'sending', error: null })
        .where('sent_emails.status', '<>', 'sent'),
    )
    .returning('id')
    .executeTakeFirst();
  if (!claimed) return 'already_sent';
  const rendered = await renderStaffEmail(email.template, {
    ...email.data,
    brand: { ...email.branding },
  });
  const finish = (set: { status: 'sent' | 'failed'; error?: string; sent_at?: Date; subject?: string }) =>
    db
      .updateTable('sent_emails')
      .set(set)
      .where('tenant_id', '=', email.tenantId)
      .where('idempotency_key', '=', key)
      .execute();
  try {
    await mailTransport(config).send({
      from: { name: email.branding.senderName, address: config.emailFrom },
      to: email.to,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'OOF, AutoReply' },
    });
  } catch (error) {
    await finish({
      status: 'failed',
      error: error instanceof Error ? error.message.slice(0, 500) : 'failed',
    });
    throw error;
  }
  await finish({ status: 'sent', sent_at: new Date(), subject: rendered.subject });
  log?.info({ template: email.template, messageId }, 'staff email sent');
  return 'sent';
}
