import type { FastifyReply } from 'fastify';
import { html, type SafeHtml } from '../portal/html.template.ts';
import { messagePage, PAGE_HEADERS, page } from '../portal/page.layout.ts';
import { STATE_TTL_MS, type StateCheck } from './crm-oauth.state.ts';

/**
 * The pages an install callback answers, whichever CRM: the admin sees the same outcomes in the same
 * words, with the vendor's name (`vendor`: "HubSpot") and where its installs start again
 * (`startAgain`, a sentence without its full stop: HubSpot's start from its app listing).
 */

/** An install page carries the partner pages' headers (no script, no Referer, no caching) whatever its status. */
export function sendPage(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(body);
}

/** An install that stopped before anything was stored: `reason` says which step failed and what to do. */
export const notConnectedPage = (vendor: string, reason: string) =>
  messagePage(`${vendor} was not connected`, [reason]);

/** The callback came back with an `error`: the admin cancelled or the vendor refused on its consent screen. */
export const refusedPage = (vendor: string, startAgain: string) =>
  notConnectedPage(
    vendor,
    `The install was cancelled or refused in ${vendor}. ${startAgain} when you are ready.`,
  );

/**
 * The callback's state is expired or not ours (or, where states are single-use, already used): the
 * admin can only start again. `unverified` is the reason given when the state did not expire.
 */
export function expiredPage(state: StateCheck, unverified: string, startAgain: string): string {
  const reason =
    state === 'expired' ? `The install took longer than ${STATE_TTL_MS / 60_000} minutes.` : unverified;
  return messagePage('This install link has expired', [`${reason} ${startAgain}.`]);
}

/**
 * The "connected" page: the vendor's own `details` of the account and its setup, what setup could
 * not do, and the new admin API key, which exists only on this page.
 */
export function connectedPage(
  vendor: string,
  details: SafeHtml,
  problems: string[],
  adminKey: string | null,
) {
  return page({
    title: `${vendor} connected`,
    body: html`<h1>${vendor} connected</h1>
${details}
${problems.map((p) => html`<p class="notice warn">${p}</p>`)}
${
  adminKey
    ? html`<h2>Your admin API key</h2>
<p>It is shown only this once: store it in your password manager now.</p>
<p><code>${adminKey}</code></p>`
    : html`<p>Use your existing admin API keys; no new key was created.</p>`
}`,
  });
}
