/** How amounts and dates read in partner emails: the tenant's zone, the currency's own minor unit. */

export function formatMoney(minor: bigint | string | number, currency: string): string {
  const code = currency.toUpperCase();
  let digits = 2;
  try {
    digits =
      new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
        .maximumFractionDigits ?? 2;
  } catch {
    return `${String(minor)} ${code} (minor units)`;
  }
  const value = BigInt(minor);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(digits);
  const whole = (abs / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = digits > 0 ? `.${(abs % scale).toString().padStart(digits, '0')}` : '';
  // Exact for any size (no float), with the ISO code, which reads the same in every locale.
  return `${negative ? '-' : ''}${code} ${whole}${fraction}`;
}

export function formatDate(value: Date | string, timeZone: string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone }).format(date);
}

/** Words a partner understands for the common CRM stages; a tenant's own stages fall back to generic text. */
const STAGE_TEXT: Record<string, { meaning: string; next: string }> = {
  appointmentscheduled: {
    meaning: 'A first meeting with the prospect is booked.',
    next: 'The sales rep meets the prospect and qualifies the opportunity.',
  },
  qualifiedtobuy: {
    meaning: 'The prospect has a real need and budget.',
    next: 'The sales rep prepares a presentation or demo.',
  },
  presentationscheduled: {
    meaning: 'A presentation or demo is scheduled.',
    next: 'After the presentation the decision makers are involved.',
  },
  decisionmakerboughtin: {
    meaning: 'The decision makers support the purchase.',
    next: 'A contract or quote is prepared.',
  },
  contractsent: {
    meaning: 'A contract was sent to the prospect.',
    next: 'The prospect signs, and the deal is won.',
  },
  closedwon: { meaning: 'The prospect signed: the deal is won.', next: 'Your commission is calculated.' },
  closedlost: {
    meaning: 'The prospect decided not to buy for now.',
    next: 'Nothing is due on this deal; tell us if the situation changes.',
  },
};

export function stageText(
  stage: string | null | undefined,
  category: string | null | undefined,
): { meaning: string; next: string } {
  const known = stage ? STAGE_TEXT[stage.toLowerCase().replace(/[^a-z]/g, '')] : undefined;
  if (known) return known;
  if (category === 'won') return STAGE_TEXT.closedwon as { meaning: string; next: string };
  if (category === 'lost') return STAGE_TEXT.closedlost as { meaning: string; next: string };
  return {
    meaning: 'The deal is moving through the sales process.',
    next: 'The sales rep keeps working the deal; you hear from us at the next step.',
  };
}
