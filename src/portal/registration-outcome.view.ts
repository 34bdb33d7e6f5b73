import type { RegistrationRow, RegistrationStatus } from '../registrations/registration.table.ts';
import { formatAmount } from './amount.parse.ts';
import { attr, html, type SafeHtml } from './html.template.ts';
import { page } from './page.layout.ts';
import type { ReferralListRow } from './portal.repository.ts';

export const STATUS_WORDS: Record<RegistrationStatus, string> = {
  submitted: 'Waiting for review',
  approved: 'Approved',
  rejected: 'Not accepted',
  won: 'Won',
  lost: 'Lost',
  expired: 'Expired',
};

const OUTCOME_WORDS: Record<RegistrationRow['check_outcome'], string> = {
  clear: 'New prospect',
  duplicate_of: 'You had already registered it',
  conflict_with: 'Another partner registered it first',
};

export function formatDay(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone }).format(instant);
}

/** Where the protection of a registration stands, in a sentence. */
export function protectionSentence(
  row: Pick<RegistrationRow, 'status' | 'protected_until'>,
  ctx: { now: Date; timeZone: string; protectionDays: number },
): string {
  switch (row.status) {
    case 'submitted':
      return `Not protected yet: the ${ctx.protectionDays}-day protection starts when our team approves it.`;
    case 'approved':
      return row.protected_until && row.protected_until > ctx.now
        ? `Protected for you until ${formatDay(row.protected_until, ctx.timeZone)}.`
        : 'Approved; its protection period has ended.';
    case 'rejected':
      return 'Not protected: this registration was not accepted.';
    case 'won':
      return 'The deal was won.';
    case 'lost':
      return 'The deal was lost.';
    case 'expired':
      return 'No longer protected: the protection period has ended.';
  }
}

export interface ConfirmationModel {
  row: RegistrationRow;
  programName: string;
  now: Date;
  timeZone: string;
  protectionDays: number;
  /** A partner's own contact ("you registered"), or someone using a partner's referral code. */
  audience: 'partner' | 'referrer';
  /** Where to go next: another registration, or back to the list. */
  back: { href: string; label: string };
}

/** What happened to a submission, in plain words: received, a repeat of the person's own, or taken. */
export function renderConfirmation(model: ConfirmationModel): string {
  const { row } = model;
  let tone: string;
  let heading: string;
  let text: SafeHtml;
  if (row.check_outcome === 'duplicate_of') {
    tone = 'notice warn';
    if (model.audience === 'partner') {
      heading = 'Already registered by you';
      text = html`You had already registered <strong>${row.company_name}</strong>, so we have kept this as a repeat of that registration. You do not need to do anything.`;
    } else {
      heading = 'Already registered';
      text = html`<strong>${row.company_name}</strong> was already registered for the partner of this referral code, so we have kept this as a repeat of that registration. You do not need to do anything.`;
    }
  } else if (row.check_outcome === 'conflict_with' && row.related_registration_id === null) {
    // No other registration: the CRM has an open deal of the direct sales team for this prospect.
    tone = 'notice warn';
    heading = 'Our sales team is already working with this prospect';
    text = html`Our sales team already has an open deal with <strong>${row.company_name}</strong>. We have kept your registration, and our team will review it and let you know.`;
  } else if (row.check_outcome === 'conflict_with') {
    tone = 'notice warn';
    heading = 'Another partner already registered this prospect';
    text = html`Another partner registered <strong>${row.company_name}</strong> first. We have kept your registration, and our team will review both and let you know.`;
  } else {
    tone = 'notice ok';
    heading = 'Registration received';
    text = html`Thank you: we have received your registration of <strong>${row.company_name}</strong>.`;
  }
  const value =
    row.estimated_value !== null && row.currency
      ? `${formatAmount(row.estimated_value, row.currency)} ${row.currency}`
      : null;
  const body = html`<h1>${heading}</h1>
<div class="${tone}" role="status"><p>${text}</p></div>
<h2>Protection</h2>
<p>${protectionSentence(row, model)}</p>
<h2>What you sent</h2>
<dl>
<dt>Company</dt><dd>${row.company_name}</dd>
${row.website ? html`<dt>Website</dt><dd>${row.website}</dd>` : ''}
${row.contact_name ? html`<dt>Contact</dt><dd>${row.contact_name}</dd>` : ''}
${value ? html`<dt>Estimated value</dt><dd>${value}</dd>` : ''}
<dt>Program</dt><dd>${model.programName}</dd>
<dt>Status</dt><dd>${STATUS_WORDS[row.status]}</dd>
<dt>Reference</dt><dd>${row.id}</dd>
</dl>
<p><a${attr('href', model.back.href)}>${model.back.label}</a></p>`;
  return page({ title: heading, body });
}

export interface ReferralListModel {
  partnerName: string;
  rows: ReferralListRow[];
  now: Date;
  timeZone: string;
  nextHref: string | null;
}

/** The registrations a contact may see: its partner's and those of the partners below it. */
export function renderReferralList(model: ReferralListModel): string {
  const rows = model.rows.map(
    (row) => html`<tr>
<td>${row.company_name}</td>
<td>${row.partner_name}</td>
<td>${STATUS_WORDS[row.status]}</td>
<td>${row.status === 'approved' && row.protected_until && row.protected_until > model.now ? formatDay(row.protected_until, model.timeZone) : '—'}</td>
<td>${OUTCOME_WORDS[row.check_outcome]}</td>
<td>${formatDay(row.created_at, model.timeZone)}</td>
</tr>`,
  );
  const body = html`<h1>Your registrations</h1>
<p class="lede">Prospects registered by ${model.partnerName} and the partners working under it.</p>
${
  model.rows.length === 0
    ? html`<p>There are no registrations yet.</p>`
    : html`<div class="table-wrap"><table>
<caption>Registrations, newest first</caption>
<thead><tr><th scope="col">Company</th><th scope="col">Partner</th><th scope="col">Status</th><th scope="col">Protected until</th><th scope="col">Outcome</th><th scope="col">Submitted</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`
}
${model.nextHref ? html`<p><a${attr('href', model.nextHref)}>Older registrations</a></p>` : ''}`;
  return page({ title: 'Your registrations', body });
}
