import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { AppError } from '../errors/app-error.ts';

interface PostmarkAddress {
  Email?: string;
  Name?: string;
}

/** The fields of Postmark's inbound webhook we read (postmarkapp.com/developer/webhooks/inbound-webhook). */
export interface PostmarkInbound {
  MessageID?: string;
  From?: string;
  FromFull?: PostmarkAddress;
  To?: string;
  ToFull?: PostmarkAddress[];
  Cc?: string;
  CcFull?: PostmarkAddress[];
  OriginalRecipient?: string;
  Subject?: string;
  Date?: string;
  TextBody?: string;
  HtmlBody?: string;
  Headers?: { Name?: string; Value?: string }[];
  /** The whole message, when "include raw email content" is on for the inbound stream. */
  RawEmail?: string;
}

// Headers the composer writes itself from the fields; copying them from Headers[] would duplicate them.
const COMPOSED = new Set([
  'content-type',
  'content-transfer-encoding',
  'mime-version',
  'from',
  'to',
  'cc',
  'subject',
  'date',
  'message-id',
]);

const address = (a: PostmarkAddress) => (a.Name ? { name: a.Name, address: a.Email ?? '' } : (a.Email ?? ''));

/**
 * The raw RFC 5322 message of a Postmark inbound webhook: RawEmail when the stream includes it,
 * else one rebuilt from the parsed fields and the original headers (Message-ID, In-Reply-To,
 * References, Authentication-Results, Auto-Submitted …), so processing is the same for every channel.
 */
export async function rawFromPostmark(payload: PostmarkInbound): Promise<Buffer> {
  if (payload.RawEmail) return Buffer.from(payload.RawEmail, 'utf8');
  if (!payload.From && !payload.FromFull?.Email)
    throw new AppError('bad_request', 'The Postmark payload has no From');
  const headers = payload.Headers ?? [];
  const header = (name: string) => headers.find((h) => h.Name?.toLowerCase() === name)?.Value;
  const messageId = header('message-id');
  const composer = new MailComposer({
    from: payload.FromFull?.Email ? address(payload.FromFull) : payload.From,
    to: payload.ToFull?.length ? payload.ToFull.map(address) : payload.To,
    ...(payload.CcFull?.length ? { cc: payload.CcFull.map(address) } : payload.Cc ? { cc: payload.Cc } : {}),
    subject: payload.Subject ?? '',
    ...(payload.TextBody ? { text: payload.TextBody } : {}),
    ...(payload.HtmlBody ? { html: payload.HtmlBody } : {}),
    ...(messageId ? { messageId } : {}),
    ...(payload.Date ? { date: payload.Date } : {}),
    headers: [
      ...headers
        .filter((h) => h.Name && h.Value !== undefined && !COMPOSED.has(h.Name.toLowerCase()))
        .map((h) => ({ key: h.Name!, value: h.Value! })),
      ...(payload.OriginalRecipient ? [{ key: 'X-Original-To', value: payload.OriginalRecipient }] : []),
    ],
  });
  // Without an original Message-ID the composer would invent a random one: deduplicate on the content.
  const node = composer.compile();
  if (!messageId) {
    const id =
      payload.MessageID ?? createHash('sha256').update(JSON.stringify(payload)).digest('hex').slice(0, 32);
    node.setHeader('Message-ID', `<postmark-${id}@inbound.postmarkapp.com>`);
  }
  return node.build();
}
