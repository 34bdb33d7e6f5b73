import { type AuthVerdict, authVerdict } from './inbound-auth-results.ts';
import { type AutoReplyVerdict, detectAutoReply } from './inbound-auto-reply.ts';
import { type InboundParsed, MalformedEmailError, parseInbound } from './inbound-parse.ts';
import { type TrimResult, trimReply } from './inbound-trim.ts';
import { tokenFromAddress, tokenFromMessageId, tokenFromSubject } from './reply-address.ts';

export interface TokenCandidate {
  token: string;
  via: 'address' | 'message-id' | 'subject';
}

/** Everything processing learns from the message alone, before the database is asked anything. */
export interface InboundAnalysis {
  parsed: InboundParsed | null;
  /** Why the message could not be read, or null. */
  malformed: string | null;
  /** The From address is ours (the reply domain or our sender): answering it would loop. */
  fromUs: boolean;
  autoReply: AutoReplyVerdict;
  /** Reply tokens found, in the order they are trusted: addresses, then our Message-IDs, then the subject. */
  tokens: TokenCandidate[];
  auth: AuthVerdict;
  trim: TrimResult | null;
}

export interface AnalyzeOptions {
  /** The domain of our reply addresses (`reply+<token>@<domain>`); null when replies are not set up. */
  replyDomain: string | null;
  /** Addresses we send from: mail from them is our own coming back. */
  ownAddresses?: string[];
  authservId?: string | undefined;
  /** Envelope recipients (SMTP RCPT TO, the provider's `recipient`): checked before the headers. */
  envelopeRecipients?: string[];
}

export function tokenCandidates(
  parsed: InboundParsed,
  replyDomain: string | null,
  envelopeRecipients: string[] = [],
): TokenCandidate[] {
  const found: TokenCandidate[] = [];
  const add = (token: string | null, via: TokenCandidate['via']) => {
    if (token && !found.some((c) => c.token === token)) found.push({ token, via });
  };
  if (replyDomain) {
    for (const address of [...envelopeRecipients, ...parsed.recipients])
      add(tokenFromAddress(address, replyDomain), 'address');
  }
  for (const id of parsed.replyIds) add(tokenFromMessageId(id), 'message-id');
  add(tokenFromSubject(parsed.subject), 'subject');
  return found;
}

const NOT_AUTO: AutoReplyVerdict = { value: false, why: null, kind: null };

export async function analyzeInbound(raw: Buffer, options: AnalyzeOptions): Promise<InboundAnalysis> {
  let parsed: InboundParsed;
  try {
    parsed = await parseInbound(raw);
  } catch (error) {
    if (!(error instanceof MalformedEmailError)) throw error;
    return {
      parsed: null,
      malformed: error.message,
      fromUs: false,
      autoReply: NOT_AUTO,
      tokens: [],
      auth: { verdict: 'gray', why: 'not parsed' },
      trim: null,
    };
  }
  const from = parsed.from ?? '';
  const domain = options.replyDomain?.toLowerCase();
  const fromUs =
    (domain !== undefined && from.endsWith(`@${domain}`)) ||
    (options.ownAddresses ?? []).some((a) => a.toLowerCase() === from);
  return {
    parsed,
    malformed: null,
    fromUs,
    autoReply: detectAutoReply(parsed),
    tokens: tokenCandidates(parsed, options.replyDomain, options.envelopeRecipients),
    auth: authVerdict(parsed.headers.get('authentication-results') ?? [], options.authservId),
    trim: trimReply({ text: parsed.text, html: parsed.html }),
  };
}
