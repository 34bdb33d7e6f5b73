import type { Tx } from '../db/database.ts';
import type { InboxProcessor } from '../inbox/inbox-processors.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { resolveReferralCode } from '../programs/referral-code.ts';
import type { Services } from '../services.ts';
import { type AnalyzeOptions, analyzeInbound, type InboundAnalysis } from './inbound-analyze.ts';
import { planRefusal } from './inbound-answers.ts';
import { ownAddressesOf, replyDomainOf } from './inbound-config.ts';
import {
  type InboundOutcome,
  lockInboundMessage,
  recordInboundOutcome,
} from './inbound-message.repository.ts';
import type { InboundMessageRow } from './inbound-message.table.ts';
import { addTimelineNote } from './inbound-note.repository.ts';
import type { InboundParsed } from './inbound-parse.ts';
import { registerByEmail } from './inbound-register.service.ts';
import { referralCodeFromAddress, unsubscribeValueFromAddress } from './inbound-register.ts';
import { notifyNoteOwnerJob } from './notify-note-owner.job.ts';
import { type ReplyTokenRow, resolveReplyToken } from './reply-tokens.ts';
import { findUnsubscribeTarget, unsubscribeAndRecord } from './unsubscribe.ts';

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

/** The sender as a contact of the partner (the token's own contact first), or undefined. */
function findAuthor(tx: Tx, tenantId: string, partnerId: string, from: string | null, preferId?: string) {
  return tx
    .selectFrom('partner_contacts')
    .select(['id', 'name', 'email'])
    .where('tenant_id', '=', tenantId)
    .where('partner_id', '=', partnerId)
    .where('email', '=', from ?? '')
    .orderBy(({ eb }) =>
      eb
        .case()
        .when('id', '=', preferId ?? '00000000-0000-0000-0000-000000000000')
        .then(0)
        .else(1)
        .end(),
    )
    .executeTakeFirst();
}

/** Our special addresses among the recipients: the List-Unsubscribe mailto, and registration by email. */
function specialAddress(parsed: InboundParsed, options: AnalyzeOptions) {
  const domain = options.replyDomain;
  if (!domain) return undefined;
  const addresses = [...(options.envelopeRecipients ?? []), ...parsed.recipients];
  for (const address of addresses) {
    const unsubscribe = unsubscribeValueFromAddress(address, domain);
    if (unsubscribe) return { unsubscribe };
  }
  for (const address of addresses) {
    const code = referralCodeFromAddress(address, domain);
    if (code) return { code };
  }
  return undefined;
}

export type DecideOptions = AnalyzeOptions & { maxBytes: number; now: Date; services?: Services };

/**
 * Decides what one stored email becomes. Every refusal is an outcome, never an exception: a
 * malformed, automatic, forged or stale message is recorded with its reason and creates nothing.
 */
export async function decideInbound(
  tx: Tx,
  message: InboundMessageRow,
  options: DecideOptions,
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

  const special = specialAddress(parsed, options);
  if (special?.unsubscribe) {
    // The same one-click unsubscribe as POST /u/:token: the token is the credential, no note.
    const target = await findUnsubscribeTarget(tx, special.unsubscribe);
    if (!target) return { ...seen, status: 'rejected', reason: 'unsubscribe: address not recognised' };
    await unsubscribeAndRecord(tx, target, { channel: 'email' });
    return {
      ...seen,
      status: 'processed',
      reason: `unsubscribed from ${target.kind} by email`,
      tenantId: target.tenantId,
      contactId: target.contactId,
    };
  }
  if (special?.code) return registerFromCode(tx, message, analysis, special.code, options);

  const thread = await findThread(tx, analysis, options.now);
  if ('reject' in thread) {
    // A stale token's own contact may not know the address stopped working: tell them, once a day.
    const answer = thread.token
      ? await planRefusal(tx, {
          token: thread.token,
          inboundMessageId: message.id,
          parsed,
          otherAddress: false,
          now: options.now,
        })
      : 'none';
    return {
      ...seen,
      status: 'rejected',
      reason: `${thread.reject} (answer: ${answer})`,
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
  const author = await findAuthor(tx, token.tenant_id, token.partner_id, parsed.from, token.contact_id);
  if (!author) {
    // Told to the contact the token was issued to, never to the unknown sender (backscatter).
    const answer = await planRefusal(tx, {
      token,
      inboundMessageId: message.id,
      parsed,
      otherAddress: true,
      now: options.now,
    });
    return {
      ...scoped,
      status: 'rejected',
      reason: `sender is not a contact of the partner (forged sender?) (answer: ${answer})`,
    };
  }

  const trim = analysis.trim!;
  const withText = { ...scoped, contactId: author.id, replyText: trim.reply, quotedText: trim.quoted };
  if (analysis.auth.verdict === 'fail')
    return { ...withText, status: 'review', reason: `sender authentication failed: ${analysis.auth.why}` };
  // A reply to the digest (or to an answer that could not register) describes a new prospect.
  if (token.registration_id === null && (token.thread === 'digest' || token.thread === 'register')) {
    if (!options.services)
      return { ...withText, status: 'review', reason: 'registration by email unavailable' };
    const registered = await registerByEmail(tx, {
      inboundMessageId: message.id,
      parsed,
      reply: plainText(trim.reply),
      tenantId: token.tenant_id,
      partnerId: token.partner_id,
      programId: null,
      author,
      services: options.services,
      now: options.now,
    });
    return { ...withText, ...registered, registrationId: registered.registrationId ?? null };
  }
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
  if (note) await enqueueJob(tx, notifyNoteOwnerJob, { tenantId: token.tenant_id, noteId: note.id });
  return {
    ...withText,
    status: 'processed',
    reason: note
      ? `note ${note.id} (token via ${thread.via}, trimmed via ${trim.via})`
      : 'note already exists',
    ...(note ? { noteId: note.id } : {}),
  };
}

/** `register+<referral code>@`: the code names partner and program; the sender must be their contact. */
async function registerFromCode(
  tx: Tx,
  message: InboundMessageRow,
  analysis: InboundAnalysis,
  code: string,
  options: DecideOptions,
): Promise<InboundOutcome> {
  const parsed = analysis.parsed!;
  const seen = { fromAddress: parsed.from, subject: parsed.subject };
  const resolved = await resolveReferralCode(tx, code);
  if (!resolved)
    return { ...seen, status: 'rejected', reason: 'registration by email: unknown referral code' };
  const scoped = { ...seen, tenantId: resolved.tenantId };
  const author = await findAuthor(tx, resolved.tenantId, resolved.partnerId, parsed.from);
  // No answer: the code is printed on flyers, so anyone may write to it, and only contacts may register.
  if (!author)
    return {
      ...scoped,
      status: 'rejected',
      reason: 'registration by email: sender is not a contact of the partner',
    };
  const trim = analysis.trim!;
  const withText = { ...scoped, contactId: author.id, replyText: trim.reply, quotedText: trim.quoted };
  if (analysis.auth.verdict === 'fail')
    return { ...withText, status: 'review', reason: `sender authentication failed: ${analysis.auth.why}` };
  if (!options.services)
    return { ...withText, status: 'review', reason: 'registration by email unavailable' };
  const registered = await registerByEmail(tx, {
    inboundMessageId: message.id,
    parsed,
    reply: plainText(trim.reply),
    tenantId: resolved.tenantId,
    partnerId: resolved.partnerId,
    programId: resolved.programId,
    author,
    services: options.services,
    now: options.now,
  });
  return { ...withText, ...registered, registrationId: registered.registrationId ?? null };
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
    services,
  });
  await recordInboundOutcome(tx, message.id, outcome);
  if (outcome.status !== 'processed')
    log.info(
      { inboundMessageId, status: outcome.status, reason: outcome.reason },
      'inbound email not turned into a note',
    );
  return `${outcome.status}: ${outcome.reason}`.slice(0, 500);
};
