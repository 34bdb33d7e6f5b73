/**
 * The sender-authentication verdict of a message, from the Authentication-Results headers (RFC 8601)
 * stamped by our own inbound MX. Anyone can write such a header, so only those whose authserv-id is
 * the configured one count; without a configured id the verdict is always 'gray'.
 */
export interface AuthVerdict {
  verdict: 'pass' | 'fail' | 'gray';
  why: string;
}

interface MethodResult {
  method: string;
  result: string;
}

function parseHeader(value: string): { authservId: string; results: MethodResult[] } {
  // Comments in parentheses may hold semicolons; drop them first (not nested in practice).
  const clean = value.replace(/\([^()]*\)/g, ' ');
  const [first = '', ...rest] = clean.split(';');
  const authservId = first.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  const results: MethodResult[] = [];
  for (const part of rest) {
    const match = /^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)/i.exec(part);
    if (match) results.push({ method: match[1]!.toLowerCase(), result: match[2]!.toLowerCase() });
  }
  return { authservId, results };
}

export function authVerdict(headerValues: readonly string[], authservId: string | undefined): AuthVerdict {
  if (!authservId) return { verdict: 'gray', why: 'no INBOUND_AUTHSERV_ID configured' };
  const trusted = headerValues
    .map(parseHeader)
    .filter((h) => h.authservId === authservId.toLowerCase())
    .flatMap((h) => h.results);
  if (trusted.length === 0) return { verdict: 'gray', why: `no Authentication-Results from ${authservId}` };
  const of = (method: string) => trusted.filter((r) => r.method === method).map((r) => r.result);
  const dmarc = of('dmarc');
  if (dmarc.includes('fail')) return { verdict: 'fail', why: 'dmarc=fail' };
  if (dmarc.includes('pass')) return { verdict: 'pass', why: 'dmarc=pass' };
  const dkim = of('dkim');
  const spf = of('spf');
  if (dkim.includes('pass') || spf.includes('pass')) return { verdict: 'pass', why: 'dkim or spf pass' };
  if (dkim.includes('fail') && (spf.includes('fail') || spf.includes('softfail')))
    return { verdict: 'fail', why: 'dkim=fail and spf=fail' };
  return { verdict: 'gray', why: 'no decisive result' };
}
