import { escapeHtml } from '../portal/html.template.ts';

/** The registration changes that go onto the CRM deal's timeline as a note. */
export const REGISTRATION_NOTE_EVENTS = [
  'registration.approved',
  'registration.rejected',
  'registration.conflict_overridden',
  'registration.extension_requested',
  'registration.extension_approved',
  'registration.extension_rejected',
  'registration.won',
  'registration.lost',
  'registration.expired',
] as const;

const day = (iso: unknown) => (typeof iso === 'string' ? iso.slice(0, 10) : null);

/** The note for a registration change (HTML: user text escaped). */
export function registrationNoteHtml(
  type: string,
  data: Record<string, unknown>,
  partnerName: string,
  protectedUntil: Date | null,
): string {
  const partner = `<strong>${escapeHtml(partnerName)}</strong>`;
  const until = day(data.protectedUntil) ?? protectedUntil?.toISOString().slice(0, 10) ?? null;
  const reason = typeof data.reason === 'string' && data.reason ? `: ${escapeHtml(data.reason)}` : '';
  switch (type) {
    case 'registration.approved':
      return `<p>PartnerLoop: the registration of ${partner} was approved${until ? `; the partner is protected on this deal until ${until}` : ''}.</p>`;
    case 'registration.rejected':
      return `<p>PartnerLoop: the registration of ${partner} was rejected${reason}.</p>`;
    case 'registration.conflict_overridden':
      return `<p>PartnerLoop: a conflict on the registration of ${partner} was overridden${reason}.</p>`;
    case 'registration.extension_requested':
      return `<p>PartnerLoop: ${partner} asked to extend its protection on this deal.</p>`;
    case 'registration.extension_approved':
      return `<p>PartnerLoop: the protection of ${partner} was extended${until ? ` until ${until}` : ''}.</p>`;
    case 'registration.extension_rejected':
      return `<p>PartnerLoop: the extension asked by ${partner} was refused.</p>`;
    case 'registration.expired':
      return `<p>PartnerLoop: the protection of ${partner} on this deal has expired.</p>`;
    default:
      return `<p>PartnerLoop: the registration of ${partner} is now ${escapeHtml(type.replace(/^registration\./, ''))}.</p>`;
  }
}

/** A partner's reply (or a rep's note) as a timeline note: the text kept, line breaks too. */
export function replyNoteHtml(authorName: string, body: string): string {
  const paragraphs = body
    .split(/\n{2,}/)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
    .join('');
  return `<p><strong>${escapeHtml(authorName)}</strong> replied by email:</p>${paragraphs}`;
}
