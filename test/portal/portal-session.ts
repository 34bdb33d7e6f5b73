import type { App } from '../../src/app.ts';
import type { Db } from '../../src/db/database.ts';
import { insertPartnerLink, linkToken } from '../../src/links/partner-link.service.ts';
import type { LinkPurpose } from '../../src/links/partner-link.table.ts';

/** A signed partner link token, as an email would carry it. */
export async function makeLinkToken(
  db: Db,
  key: Buffer,
  link: {
    tenantId: string;
    contactId: string;
    purpose: LinkPurpose;
    programId?: string | null;
    expiresAt: Date;
  },
): Promise<{ id: string; token: string }> {
  const row = await insertPartnerLink(db, link);
  return { id: row.id, token: linkToken(key, row.id) };
}

/** What a browser keeps after loading a form: its CSRF cookie and the form's hidden token. */
export interface FormSession {
  cookie: string;
  csrf: string;
}

export function csrfCookieOf(setCookie: string | string[] | undefined): string | undefined {
  const headers = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  for (const header of headers) {
    const match = /^pl_csrf=([^;]+)/.exec(header);
    if (match) return `pl_csrf=${match[1]}`;
  }
  return undefined;
}

export function hiddenCsrfOf(body: string): string | undefined {
  return /<input type="hidden" name="_csrf" value="([^"]+)">/.exec(body)?.[1];
}

/** Loads a form page like a browser and returns the page with the session to post it back. */
export async function openForm(app: App, url: string) {
  const response = await app.inject({ method: 'GET', url });
  const cookie = csrfCookieOf(response.headers['set-cookie']);
  const csrf = hiddenCsrfOf(response.body);
  if (!cookie || !csrf) throw new Error(`no CSRF cookie or field on ${url} (status ${response.statusCode})`);
  return { response, session: { cookie, csrf } satisfies FormSession };
}

/** Posts a urlencoded form as a browser would, with the session's cookie and hidden field. */
export function postForm(
  app: App,
  url: string,
  session: FormSession | undefined,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  const body = new URLSearchParams({ ...(session ? { _csrf: session.csrf } : {}), ...fields });
  return app.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(session ? { cookie: session.cookie } : {}),
      ...headers,
    },
    payload: body.toString(),
  });
}

/** The attributes of the form control with this id, as a string to match on. */
export function controlTag(body: string, id: string): string {
  const match = new RegExp(`<(input|select|textarea)[^>]*\\bid="${id}"[^>]*>`).exec(body);
  if (!match) throw new Error(`no control with id ${id}`);
  return match[0];
}
