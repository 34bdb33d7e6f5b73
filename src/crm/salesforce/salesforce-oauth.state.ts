import { sql } from 'kysely';
import { open, seal } from '../../crypto/secret-box.ts';
import type { Db } from '../../db/database.ts';
import { STATE_TTL_MS, stateNonce } from '../crm-oauth.state.ts';

const context = (nonce: string) => `crm_oauth_states:${nonce}:code_verifier`;

/**
 * Keeps an install's PKCE code verifier (sealed, bound to its state) and login host until the
 * callback, in the database, so the callback may land on any replica. Expired rows go as new
 * installs start.
 */
export async function rememberInstall(
  db: Db,
  key: Buffer,
  input: { state: string; codeVerifier: string; loginUrl: string; nowMs: number },
): Promise<void> {
  const nonce = stateNonce(input.state);
  await db.deleteFrom('crm_oauth_states').where('expires_at', '<', sql<Date>`now()`).execute();
  await db
    .insertInto('crm_oauth_states')
    .values({
      state: nonce,
      crm_kind: 'salesforce',
      code_verifier: seal(key, input.codeVerifier, context(nonce)),
      login_url: input.loginUrl,
      expires_at: new Date(input.nowMs + STATE_TTL_MS),
    })
    .execute();
}

/** Takes (once: the row is deleted) what the install with this state kept; undefined when unknown or expired. */
export async function takeInstall(
  db: Db,
  key: Buffer,
  state: string,
): Promise<{ codeVerifier: string; loginUrl: string } | undefined> {
  const nonce = stateNonce(state);
  const row = await db
    .deleteFrom('crm_oauth_states')
    .where('state', '=', nonce)
    .where('crm_kind', '=', 'salesforce')
    .returningAll()
    .executeTakeFirst();
  if (!row || row.expires_at.getTime() < Date.now()) return undefined;
  return { codeVerifier: open(key, row.code_verifier, context(nonce)), loginUrl: row.login_url };
}
