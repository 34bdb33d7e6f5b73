import type { DbOrTx } from '../db/database.ts';
import type { TenantRow } from '../tenants/tenant.table.ts';

/** How a tenant's partner emails look: kept in `tenants.settings.branding`, every field optional. */
export interface Branding {
  /** Shown in the header (when there is no logo) and the text. */
  name: string;
  /** https URL of a logo image, or null for a text header. */
  logoUrl: string | null;
  /** `#rrggbb`: header and accents. */
  color: string;
  /** The display name in From. */
  senderName: string;
}

export const DEFAULT_BRAND_COLOR = '#1d4ed8';
export const BRAND_COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;

/** Valid values only reach a template: the colour goes into style attributes, the name into From. */
export function brandingProblems(input: Partial<Branding>): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  if (input.color !== undefined && !BRAND_COLOR_PATTERN.test(input.color))
    problems.push({ field: 'body.color', message: 'must be a colour like #1d4ed8' });
  if (input.logoUrl !== undefined && input.logoUrl !== null && !isHttpsUrl(input.logoUrl))
    problems.push({ field: 'body.logoUrl', message: 'must be an https URL' });
  for (const key of ['name', 'senderName'] as const) {
    const value = input[key];
    if (value !== undefined && (/[\r\n<>"]/.test(value) || value.trim() === ''))
      problems.push({ field: `body.${key}`, message: 'must be one line without <, > or "' });
  }
  return problems;
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** The tenant's branding with defaults for what it has not set (or set to something invalid). */
export function brandingOf(tenant: Pick<TenantRow, 'name' | 'settings'>): Branding {
  const stored = (tenant.settings?.branding ?? {}) as Partial<Record<keyof Branding, unknown>>;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
  const candidate: Partial<Branding> = {
    name: text(stored.name),
    color: text(stored.color),
    senderName: text(stored.senderName),
    logoUrl: text(stored.logoUrl) ?? null,
  };
  const bad = new Set(brandingProblems(candidate).map((p) => p.field.slice('body.'.length)));
  const name = !bad.has('name') && candidate.name ? candidate.name : tenant.name;
  return {
    name,
    logoUrl: bad.has('logoUrl') ? null : (candidate.logoUrl ?? null),
    color: !bad.has('color') && candidate.color ? candidate.color : DEFAULT_BRAND_COLOR,
    senderName:
      !bad.has('senderName') && candidate.senderName ? candidate.senderName : `${name} Partner Team`,
  };
}

export async function loadBranding(db: DbOrTx, tenantId: string): Promise<Branding | undefined> {
  const tenant = await db
    .selectFrom('tenants')
    .select(['name', 'settings'])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  return tenant && brandingOf(tenant);
}
