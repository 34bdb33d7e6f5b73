import { sql } from 'kysely';
import { writeAudit } from '../audit/audit.repository.ts';
import type { Tx } from '../db/database.ts';
import { publishEvent } from '../events/publish-event.ts';

export type DisconnectReason = 'refresh_refused' | 'uninstalled' | 'admin_disconnect';

/**
 * The tenant lost its CRM access (uninstall, revoked access, a refused refresh, admin disconnect),
 * whichever CRM it is: its status stops the CRM jobs (they check it and finish without work), an
 * audit entry and a `tenant.disconnected` event (admins are emailed) record it. Inbox events and
 * the deal mirror stay: a reinstall picks up where this left off. `revoked` also deletes the
 * stored tokens. False when the tenant was already in that state (nothing announced twice).
 */
export async function markDisconnected(
  tx: Tx,
  tenantId: string,
  reason: DisconnectReason,
  actor: {
    actorType: 'system' | 'api_key';
    actorId?: string | null;
    source: string;
    requestId?: string | null;
  },
  revoked = false,
): Promise<boolean> {
  const tenant = await tx
    .selectFrom('tenants')
    .select(['status', 'crm_kind'])
    .where('id', '=', tenantId)
    .forUpdate()
    .executeTakeFirst();
  if (!tenant) return false;
  const connection = await tx
    .selectFrom('crm_connections')
    .select('crm_kind')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  await tx
    .updateTable('crm_connections')
    .set({
      status: revoked ? 'revoked' : 'disconnected',
      disconnect_reason: reason,
      disconnected_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
      ...(revoked ? { access_token: null, refresh_token: null, access_token_expires_at: null } : {}),
    })
    .where('tenant_id', '=', tenantId)
    .execute();
  const status = reason === 'uninstalled' ? 'uninstalled' : 'disconnected';
  if (tenant.status === status) return false;
  await tx
    .updateTable('tenants')
    .set({ status, updated_at: sql<Date>`now()` })
    .where('id', '=', tenantId)
    .execute();
  await writeAudit(
    tx,
    {
      tenantId,
      actorType: actor.actorType,
      actorId: actor.actorId ?? null,
      source: actor.source,
      requestId: actor.requestId ?? null,
    },
    {
      action: 'tenant.disconnected',
      subjectType: 'tenant',
      subjectId: tenantId,
      before: { status: tenant.status },
      after: { status, reason },
    },
  );
  await publishEvent(tx, {
    type: 'tenant.disconnected',
    tenantId,
    subjectId: tenantId,
    data: { tenantId, crm: connection?.crm_kind ?? tenant.crm_kind, reason, status },
  });
  return true;
}
