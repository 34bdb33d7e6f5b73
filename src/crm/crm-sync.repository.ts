import type { DbOrTx } from '../db/database.ts';

/** The objects an earlier run of the same write made, by type (`deal`, `company`, `contact`, `note`). */
export async function findWriteRecords(
  db: DbOrTx,
  tenantId: string,
  key: string,
): Promise<Record<string, string>> {
  const rows = await db
    .selectFrom('crm_write_records')
    .select(['object_type', 'object_id'])
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', key)
    .execute();
  return Object.fromEntries(rows.map((row) => [row.object_type, row.object_id]));
}

/** Remembers an object a write made, as soon as the CRM answered (before anything else can fail). */
export async function saveWriteRecord(
  db: DbOrTx,
  tenantId: string,
  key: string,
  objectType: string,
  objectId: string,
): Promise<void> {
  await db
    .insertInto('crm_write_records')
    .values({ tenant_id: tenantId, idempotency_key: key, object_type: objectType, object_id: objectId })
    .onConflict((oc) => oc.columns(['tenant_id', 'idempotency_key', 'object_type']).doNothing())
    .execute();
}

/** Records the values we are about to write to a CRM object: their webhook echoes are ours. */
export async function rememberOwnWrites(
  db: DbOrTx,
  tenantId: string,
  objectId: string,
  values: Record<string, string | null>,
): Promise<void> {
  const rows = Object.entries(values).map(([property, value]) => ({
    tenant_id: tenantId,
    crm_object_id: objectId,
    property,
    value,
  }));
  if (rows.length === 0) return;
  await db
    .insertInto('crm_own_writes')
    .values(rows)
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'crm_object_id', 'property'])
        .doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), written_at: new Date() })),
    )
    .execute();
}

/**
 * Whether a property change the CRM reports is our own write coming back: the last value we wrote
 * to that property of that object is this value. Webhook processing skips those (no echo loops).
 */
export async function isOwnWrite(
  db: DbOrTx,
  tenantId: string,
  objectId: string,
  property: string,
  value: string | null,
): Promise<boolean> {
  const row = await db
    .selectFrom('crm_own_writes')
    .select(['value'])
    .where('tenant_id', '=', tenantId)
    .where('crm_object_id', '=', objectId)
    .where('property', '=', property)
    .executeTakeFirst();
  return row !== undefined && row.value === value;
}
