import type { InboundParsed } from './inbound-parse.ts';

export interface AutoReplyVerdict {
  value: boolean;
  /** The signal that decided it, e.g. `Auto-Submitted: auto-replied`. */
  why: string | null;
  kind: 'auto_reply' | 'bounce' | null;
}

// Subjects of out-of-office and automatic replies in the languages partners write in (Discourse's
// list, plus German, Dutch, French, Spanish, Italian and Portuguese variants seen from Exchange).
const OOF_SUBJECT =
  /^\s*(auto:|automatic reply|autoreply|auto[- ]?response|out of (the )?office|ooo\b|abwesenheitsnotiz|automatische antwort|abwesend|automatisch antwoord|afwezig|niet aanwezig|r[ée]ponse automatique|absence|absent du bureau|respuesta autom[áa]tica|fuera de la oficina|ausente|risposta automatica|fuori sede|resposta autom[áa]tica|autosvar|automatisk svar|fr[åa]nvaro)/i;
const AUTO_HEADER_NAME =
  /auto[-_]?(response|submitted|replied|reply|generated|respond)|holidayreply|machinegenerated/i;
const ROBOT_FROM = /^(mailer[-_]?daemon|post[-_]?master|no[-_]?reply|do[-_]?not[-_]?reply)@/i;

const no: AutoReplyVerdict = { value: false, why: null, kind: null };
const auto = (why: string): AutoReplyVerdict => ({ value: true, why, kind: 'auto_reply' });
const bounce = (why: string): AutoReplyVerdict => ({ value: true, why, kind: 'bounce' });

/**
 * Whether a message was sent by a machine (RFC 3834 and the de facto markers), so that it never
 * becomes a note and is never answered. X-Auto-Response-Suppress only asks others not to auto-reply:
 * it does not make a message automatic, and our own notifications carry it.
 */
export function detectAutoReply(mail: InboundParsed): AutoReplyVerdict {
  const first = (name: string) => mail.headers.get(name)?.[0]?.trim();
  if (
    /^multipart\/report/.test(mail.contentType) &&
    /report-type\s*=\s*"?delivery-status/i.test(mail.contentType)
  )
    return bounce('multipart/report; report-type=delivery-status (DSN)');
  if (mail.from && /^(mailer[-_]?daemon|post[-_]?master)@/i.test(mail.from))
    return bounce(`From: ${mail.from}`);
  if (/^multipart\/report/.test(mail.contentType))
    return auto(`Content-Type: ${mail.contentType.split(';')[0]}`);

  const submitted = first('auto-submitted');
  if (submitted && !/^no\b/i.test(submitted)) return auto(`Auto-Submitted: ${submitted}`);
  const autoreply = first('x-autoreply') ?? first('x-autorespond');
  if (autoreply) return auto(`X-Autoreply: ${autoreply}`);
  const precedence = first('precedence');
  if (precedence && /^(bulk|auto_reply|list|junk)\b/i.test(precedence))
    return auto(`Precedence: ${precedence}`);
  const loop = first('x-loop');
  if (loop && /^(yes|true)\b/i.test(loop)) return auto(`X-Loop: ${loop}`);
  if (first('x-ms-exchange-generated-message-source') || first('x-ms-exchange-inbox-rules-loop'))
    return auto('Exchange-generated message');
  for (const name of mail.headers.keys()) {
    if (name !== 'x-auto-response-suppress' && name !== 'auto-submitted' && AUTO_HEADER_NAME.test(name))
      return auto(`header ${name}`);
  }
  if (mail.from && ROBOT_FROM.test(mail.from)) return auto(`From: ${mail.from}`);
  if (OOF_SUBJECT.test(mail.subject)) return auto(`Subject: ${mail.subject.slice(0, 80)}`);
  return no;
}
