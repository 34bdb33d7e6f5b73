import '@fastify/cookie';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app.ts';
import { AppError } from '../errors/app-error.ts';

/*
 * Double-submit protection for the partner pages' forms. The browser holds a random nonce in an
 * HttpOnly, SameSite=Strict cookie; the form carries an HMAC of it. A page on another site can make
 * the browser post, but can neither read the cookie nor compute the HMAC (it needs the server's
 * key), and with SameSite=Strict the browser does not even send the cookie on a cross-site post.
 * The HMAC (rather than the nonce itself) in the form means a leaked page does not leak the cookie.
 */

export const CSRF_COOKIE = 'pl_csrf';
export const CSRF_FIELD = '_csrf';
const NONCE = /^[A-Za-z0-9_-]{43}$/;

function formToken(key: Buffer, nonce: string): string {
  return createHmac('sha256', key).update(`csrf:${nonce}`).digest('base64url');
}

/**
 * The value for the form's hidden field. Reuses the browser's nonce when it sent one, so two open
 * tabs keep working; otherwise sets a fresh cookie. (A link opened from an email is a cross-site
 * navigation, on which a Strict cookie is not sent: such a page load starts a new nonce.)
 */
export function issueCsrfToken(deps: AppDeps, request: FastifyRequest, reply: FastifyReply): string {
  let nonce = request.cookies[CSRF_COOKIE];
  if (!nonce || !NONCE.test(nonce)) {
    nonce = randomBytes(32).toString('base64url');
    reply.setCookie(CSRF_COOKIE, nonce, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: deps.config.publicUrl.startsWith('https:'),
    });
  }
  return formToken(deps.services.secrets.linkSigningKey, nonce);
}

function originOf(value: string): string | undefined {
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}

/** Throws a 403 unless the post comes from one of our own forms, in the browser that loaded it. */
export function verifyCsrf(deps: AppDeps, request: FastifyRequest, body: Record<string, unknown>): void {
  const expectedOrigin = originOf(deps.config.publicUrl);
  const origin = request.headers.origin;
  // Our pages say `Referrer-Policy: no-referrer`, and for a post from such a page browsers send
  // `Origin: null` (Fetch standard, "serializing a request origin"): "null" names no site, so it
  // cannot be compared; the fetch-metadata header and the token below still decide.
  if (origin !== undefined && origin !== 'null' && originOf(origin) !== expectedOrigin) {
    throw new AppError('forbidden', 'This form was sent from another site.', { reason: 'origin' });
  }
  const referer = request.headers.referer;
  if ((origin === undefined || origin === 'null') && referer !== undefined) {
    if (originOf(referer) !== expectedOrigin) {
      throw new AppError('forbidden', 'This form was sent from another site.', { reason: 'referer' });
    }
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new AppError('forbidden', 'This form was sent from another site.', { reason: 'fetch_site' });
  }

  const nonce = request.cookies[CSRF_COOKIE];
  const given = body[CSRF_FIELD];
  if (!nonce || !NONCE.test(nonce) || typeof given !== 'string') {
    throw new AppError('forbidden', 'Your form session has expired.', { reason: 'csrf_missing' });
  }
  const expected = Buffer.from(formToken(deps.services.secrets.linkSigningKey, nonce));
  const actual = Buffer.from(given);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new AppError('forbidden', 'Your form session has expired.', { reason: 'csrf_mismatch' });
  }
}
