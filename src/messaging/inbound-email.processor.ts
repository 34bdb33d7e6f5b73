import type { Tx } from '../db/database.ts';
import type { InboxProcessor } from '../inbox/inbox-processors.ts';
import { type AnalyzeOptions, analyzeInbound, type InboundAnalysis } from './inbound-analyze.ts';
import { ownAddressesOf, replyDomainOf } from './inbound-config.ts';
import {
  type InboundOutcome,
  lockInboundMessage,
  recordInboundOutcome,
} from './inbound-message.repository.ts';
import type { InboundMessageRow } from './inbound-message.table.ts';
import { addTimelineNote } from './inbound-note.repository.ts';
import { type ReplyTokenRow, resolveReplyToken } from './reply-tokens.ts';

// Notes are plain text: no markup reaches the CRM, and control characters (other than line breaks
// and tabs) are dropped.
const keep = (ch: string) => {
  const code = ch.charCodeAt(0);
  return code === 9 || code === 10 || (code >= 32 && code !== 127);
};
const plainText = (text: string) => Array.from(text).filter(keep).join('');
const MAX_NOTE = 20_000;

interface Found {
  token: ReplyTokenRow;
  via: string;
}

/** The first valid token among the candidates; else why none was usable (the first one's fate). */
async function findThread(
  tx: Tx,
  analysis: InboundAnalysis,
  now: Date,
): Promise<Found | { reject: string; token?: ReplyTokenRow }> {
  let firstProblem: { reject: string; token?: ReplyTokenRow } | undefined;
  for (const candidate of analysis.tokens) {
    const resolved = await resolveReplyToken(tx, candidate.token, now);
    if (resolved.status === 'valid' && resolved.token) return { token: resolved.token, via: candidate.via };
    firstProblem ??= {
      reject: `reply token ${resolved.status} (found in ${candidate.via})`,
      ...(resolved.token ? { token: resolved.token } : {}),
    };
  }
  return firstProblem ?? { reject: 'no reply token in the recipients, references or subject' };
}

/**
 * Decides what one stored email becomes. Every refusal is an outcome, never an exception: a
 * malformed, automatic, forged or stale message is recorded with its reason and creates nothing.
 */
export async function decideInbound(
  tx: Tx,
  message: InboundMessageRow,
  options: AnalyzeOptions & { maxBytes: number; now: Date },
): Promise<InboundOutcome & { noteId?: string }> {
  if (message.size_bytes > options.maxBytes)
    return { status: 'rejected', reason: `oversized: ${message.size_bytes} bytes > ${options.maxBytes}` };
  // PGlite returns bytea as a Uint8Array, pg as a Buffer.
  const raw = Buffer.isBuffer(message.raw) ? message.raw : Buffer.from(message.raw);
  const analysis = await analyzeInbound(raw, options);
  const { parsed } = analysis;
  if (!parsed) return { status: 'rejected', reason: `malformed: ${analysis.malformed}` };
  const seen = { fromAddress: parsed.from, subject: parsed.subject };
  if (analysis.fromUs) return { ...seen, status: 'rejected', reason: 'loop: sent from our own address' };
  if (analysis.autoReply.value)
    return { ...seen, status: 'rejected', reason: `${analysis.autoReply.kind}: ${analysis.autoReply.why}` };

  const thread = await findThread(tx, analysis, options.now);
  if ('reject' in thread) {
    return {
      ...seen,
      status: 'rejected',
      reason: thread.reject,
      tenantId: thread.token?.tenant_id ?? null,
      replyTokenId: thread.token?.id ?? null,
    };
  }
  const { token } = thread;
  const scoped = {
    ...seen,
    tenantId: token.tenant_id,
    replyTokenId: token.id,
    registrationId: token.registration_id,
  };
  // The token is a bearer credential, not an identity: the sender must be a contact of the partner.
  const author = await tx
    .selectFrom('partner_contacts')
    .select(['id', 'name'])
    .where('tenant_id', '=', token.tenant_id)
    .where('partner_id', '=', token.partner_id)
    .where('email', '=', parsed.from ?? '')
    .orderBy(({ eb }) => eb.case().when('id', '=', token.contact_id).then(0).else(1).end())
    .executeTakeFirst();
  if (!author)
    return {
      ...scoped,
      status: 'rejected',
      reason: 'sender is not a contact of the partner (forged sender?)',
    };

  const trim = analysis.trim!;
  const withText = { ...scoped, contactId: author.id, replyText: trim.reply, quotedText: trim.quoted };
  if (analysis.auth.verdict === 'fail')
    return { ...withText, status: 'review', reason: `sender authentication failed: ${analysis.auth.why}` };
  const body = plainText(trim.reply).slice(0, MAX_NOTE).trim();
  if (!body) return { ...withText, status: 'review', reason: 'nothing left after removing quotes' };

  const note = await addTimelineNote(tx, {
    tenantId: token.tenant_id,
    registrationId: token.registration_id,
    dealId: token.deal_id,
    source: 'email',
    authorContactId: author.id,
    authorName: author.name,
    body,
    inboundMessageId: message.id,
  });
  return {
    ...withText,
    status: 'processed',
    reason: note
      ? `note ${note.id} (token via ${thread.via}, trimmed via ${trim.via})`
      : 'note already exists',
    ...(note ? { noteId: note.id } : {}),
  };
}

/** The inbox processor of source 'email': one stored inbound message becomes a note or a recorded refusal. */
export const processInboundEmail: InboxProcessor = async (tx, event, { services, log }) => {
  const { inboundMessageId } = event.payload as { inboundMessageId?: string };
  if (!inboundMessageId) return 'ignored: no inbound message id';
  const message = await lockInboundMessage(tx, inboundMessageId);
  if (!message) return 'ignored: inbound message not found';
  if (message.status !== 'received') return `ignored: already ${message.status}`;
  const { config } = services;
  const outcome = await decideInbound(tx, message, {
    replyDomain: replyDomainOf(config),
    ownAddresses: ownAddressesOf(config),
    authservId: config.inboundAuthservId,
    envelopeRecipients: message.envelope.rcptTo ?? [],
    maxBytes: config.inboundMaxBytes,
    now: services.clock.now(),
  });
  await recordInboundOutcome(tx, message.id, outcome);
  if (outcome.status !== 'processed')
    log.info(
      { inboundMessageId, status: outcome.status, reason: outcome.reason },
      'inbound email not turned into a note',
    );
  return `${outcome.status}: ${outcome.reason}`.slice(0, 500);
};
