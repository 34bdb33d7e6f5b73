import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/**
 * The 3-character case-safe suffix Salesforce appends to a 15-character id: for each 5-character
 * block, a bit per upper-case letter, mapped onto A–Z0–5.
 */
export function caseSafeSuffix(id15: string): string {
  let suffix = '';
  for (let block = 0; block < 3; block++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15[block * 5 + i]!;
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += SUFFIX[bits];
  }
  return suffix;
}

/** An 18-character id with the given 3-character key prefix (`006` Opportunity, `00D` org, …). */
export function newSalesforceId(keyPrefix: string, counter: number): string {
  const pod = '5g'; // two characters of "instance" like real ids (e.g. 0065g…)
  const random = [...randomBytes(4)].map((b) => BASE62[b % 62]).join('');
  const serial = counter.toString(36).toUpperCase().padStart(6, '0').slice(-6);
  const id15 = `${keyPrefix}${pod}${random}${serial}`.slice(0, 15);
  return id15 + caseSafeSuffix(id15);
}

/** The 18-character form of a 15- or 18-character id (other strings unchanged). */
export function toId18(id: string): string {
  if (/^[a-zA-Z0-9]{15}$/.test(id)) return id + caseSafeSuffix(id);
  return id;
}

export function looksLikeId(value: string): boolean {
  return /^[a-zA-Z0-9]{15}([A-Z0-5]{3})?$/.test(value);
}
