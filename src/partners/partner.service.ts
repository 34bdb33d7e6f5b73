import { type AuditContext, writeAudit } from '../audit/audit.repository.ts';
import type { DbOrTx, Tx } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { publishEvent } from '../events/publish-event.ts';
import {
  findPartner,
  findPartnerByExternalId,
  insertPartner,
  isUniqueViolation,
  movePartner,
  type NewPartner,
  type PartnerChanges,
  updatePartner,
} from './partner.repository.ts';
import { contactView, partnerView, payoutView, tierView } from './partner.schemas.ts';
import type { PartnerContactRow, PartnerRow, TierRow } from './partner.table.ts';
import {
  deleteContact,
  findContact,
  findContactByEmail,
  insertContact,
  type NewContact,
  updateContact,
} from './partner-contact.repository.ts';
import { findTier, insertTier, updateTier } from './tier.repository.ts';

/*
 * The writes of the partners feature, each with its audit entry and, where another feature cares,
 * its domain event, in the caller's transaction. Routes, the CSV import and the CLI share them.
 */

export interface WriteContext {
  audit: AuditContext;
  /** The domain time of the change (services.clock). */
  now: Date;
}

export interface FieldProblem {
  field: string;
  message: string;
}

export function validationFailed(fields: FieldProblem[]): AppError {
  const summary = fields.map((f) => `${f.field} ${f.message}`).join('; ');
  return new AppError('validation_failed', `Invalid request: ${summary}`, { fields });
}

/** Problems with the tier and parent a body names: each must be one of the tenant's. */
export async function referenceProblems(
  db: DbOrTx,
  tenantId: string,
  refs: { tierId?: string | null | undefined; parentId?: string | null | undefined },
): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = [];
  if (refs.tierId && !(await findTier(db, tenantId, refs.tierId))) {
    problems.push({ field: 'body.tierId', message: 'is not a tier of this tenant' });
  }
  if (refs.parentId && !(await findPartner(db, tenantId, refs.parentId))) {
    problems.push({ field: 'body.parentId', message: 'is not a partner of this tenant' });
  }
  return problems;
}

function externalIdTaken(externalId: string): AppError {
  return new AppError('conflict', `Another partner already has the external id "${externalId}"`, {
    fields: [{ field: 'body.externalId', message: 'is already used by another partner' }],
  });
}

export async function createPartner(tx: Tx, ctx: WriteContext, input: NewPartner): Promise<PartnerRow> {
  const tenantId = ctx.audit.tenantId;
  if (input.externalId && (await findPartnerByExternalId(tx, tenantId, input.externalId))) {
    throw externalIdTaken(input.externalId);
  }
  let row: PartnerRow;
  try {
    row = await insertPartner(tx, tenantId, input, ctx.now);
  } catch (error) {
    if (isUniqueViolation(error) && input.externalId) throw externalIdTaken(input.externalId);
    throw error;
  }
  await writeAudit(tx, ctx.audit, {
    action: 'partner.created',
    subjectType: 'partner',
    subjectId: row.id,
    after: partnerView(row),
  });
  await publishEvent(tx, {
    type: 'partner.created',
    tenantId,
    subjectId: row.id,
    occurredAt: ctx.now,
    data: { parentId: row.parent_id, kind: row.kind, status: row.status, tierId: row.tier_id },
  });
  return row;
}

const API_FIELD: Record<keyof PartnerChanges, string> = {
  name: 'name',
  kind: 'kind',
  status: 'status',
  tier_id: 'tierId',
  external_id: 'externalId',
  payout_details: 'payoutDetails',
};

/** The names of the fields `changes` would really change on `row`. */
function changedFields(row: PartnerRow, changes: PartnerChanges): (keyof PartnerChanges)[] {
  const changed: (keyof PartnerChanges)[] = [];
  for (const key of Object.keys(changes) as (keyof PartnerChanges)[]) {
    const next = changes[key];
    if (next === undefined) continue;
    const current = row[key];
    // Payout details compare through their view, so key order does not count as a change.
    const same =
      key === 'payout_details'
        ? JSON.stringify(payoutView(current as Record<string, unknown>)) ===
          JSON.stringify(payoutView(JSON.parse(next as string)))
        : current === next;
    if (!same) changed.push(key);
  }
  return changed;
}

export interface ChangeResult {
  before: PartnerRow;
  after: PartnerRow;
  changed: string[];
}

/** Changes a partner's own fields (not its parent); writes nothing when nothing changes. */
export async function changePartner(
  tx: Tx,
  ctx: WriteContext,
  id: string,
  changes: PartnerChanges,
): Promise<ChangeResult> {
  const tenantId = ctx.audit.tenantId;
  const before = await tx
    .selectFrom('partners')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!before) throw new AppError('not_found', 'Partner not found');
  const changed = changedFields(before, changes);
  if (changed.length === 0) return { before, after: before, changed: [] };
  const externalId = changes.external_id;
  if (changed.includes('external_id') && externalId) {
    const holder = await findPartnerByExternalId(tx, tenantId, externalId);
    if (holder && holder.id !== id) throw externalIdTaken(externalId);
  }
  const only = Object.fromEntries(changed.map((key) => [key, changes[key]])) as PartnerChanges;
  let after: PartnerRow | undefined;
  try {
    after = await updatePartner(tx, tenantId, id, only, ctx.now);
  } catch (error) {
    if (isUniqueViolation(error) && externalId) throw externalIdTaken(externalId);
    throw error;
  }
  if (!after) throw new AppError('not_found', 'Partner not found');
  await writeAudit(tx, ctx.audit, {
    action: 'partner.updated',
    subjectType: 'partner',
    subjectId: id,
    before: partnerView(before),
    after: partnerView(after),
  });
  const names = changed.map((key) => API_FIELD[key]);
  // Status and tier drive link validity and eligibility elsewhere: announce which fields changed.
  await publishEvent(tx, {
    type: 'partner.updated',
    tenantId,
    subjectId: id,
    occurredAt: ctx.now,
    data: { changed: names },
  });
  return { before, after, changed: names };
}

/** movePartner, audited and announced; a no-op move writes nothing. */
export async function movePartnerAudited(
  tx: Tx,
  ctx: WriteContext,
  id: string,
  parentId: string | null,
): Promise<{ partner: PartnerRow; moved: boolean }> {
  const tenantId = ctx.audit.tenantId;
  const { before, after, moved } = await movePartner(tx, tenantId, id, parentId, ctx.now);
  if (!moved) return { partner: after, moved };
  await writeAudit(tx, ctx.audit, {
    action: 'partner.moved',
    subjectType: 'partner',
    subjectId: id,
    before: { parentId: before.parent_id },
    after: { parentId: after.parent_id },
  });
  await publishEvent(tx, {
    type: 'partner.moved',
    tenantId,
    subjectId: id,
    occurredAt: ctx.now,
    data: { fromParentId: before.parent_id, toParentId: after.parent_id },
  });
  return { partner: after, moved };
}

// ---------------------------------------------------------------------------------------------
// Tiers

function tierNameTaken(name: string): AppError {
  return new AppError('conflict', `A tier named "${name}" already exists`, {
    fields: [{ field: 'body.name', message: 'is already the name of another tier' }],
  });
}

export async function addTier(
  tx: Tx,
  ctx: WriteContext,
  input: { name: string; rank?: number | undefined },
): Promise<TierRow> {
  let row: TierRow;
  try {
    row = await insertTier(tx, ctx.audit.tenantId, input, ctx.now);
  } catch (error) {
    if (isUniqueViolation(error)) throw tierNameTaken(input.name);
    throw error;
  }
  await writeAudit(tx, ctx.audit, {
    action: 'tier.created',
    subjectType: 'tier',
    subjectId: row.id,
    after: tierView(row),
  });
  return row;
}

export async function changeTier(
  tx: Tx,
  ctx: WriteContext,
  id: string,
  changes: { name?: string | undefined; rank?: number | undefined },
): Promise<TierRow> {
  const before = await findTier(tx, ctx.audit.tenantId, id);
  if (!before) throw new AppError('not_found', 'Tier not found');
  let after: TierRow | undefined;
  try {
    after = await updateTier(tx, ctx.audit.tenantId, id, changes);
  } catch (error) {
    if (isUniqueViolation(error) && changes.name !== undefined) throw tierNameTaken(changes.name);
    throw error;
  }
  if (!after) throw new AppError('not_found', 'Tier not found');
  if (after.name !== before.name || after.rank !== before.rank) {
    await writeAudit(tx, ctx.audit, {
      action: 'tier.updated',
      subjectType: 'tier',
      subjectId: id,
      before: tierView(before),
      after: tierView(after),
    });
  }
  return after;
}

// ---------------------------------------------------------------------------------------------
// Contacts

function emailTaken(email: string): AppError {
  return new AppError('conflict', `This partner already has a contact with the email ${email}`, {
    fields: [{ field: 'body.email', message: 'is already a contact of this partner' }],
  });
}

export async function addContact(
  tx: Tx,
  ctx: WriteContext,
  partnerId: string,
  input: NewContact,
): Promise<PartnerContactRow> {
  const tenantId = ctx.audit.tenantId;
  const email = input.email.toLowerCase();
  if (await findContactByEmail(tx, tenantId, partnerId, email)) throw emailTaken(email);
  let row: PartnerContactRow;
  try {
    row = await insertContact(tx, tenantId, partnerId, { ...input, email }, ctx.now);
  } catch (error) {
    if (isUniqueViolation(error)) throw emailTaken(email);
    throw error;
  }
  await writeAudit(tx, ctx.audit, {
    action: 'contact.created',
    subjectType: 'contact',
    subjectId: row.id,
    after: contactView(row),
  });
  return row;
}

export async function changeContact(
  tx: Tx,
  ctx: WriteContext,
  id: string,
  changes: { name?: string | undefined; email?: string | undefined; role?: string | null | undefined },
): Promise<PartnerContactRow> {
  const tenantId = ctx.audit.tenantId;
  const before = await findContact(tx, tenantId, id);
  if (!before) throw new AppError('not_found', 'Contact not found');
  const email = changes.email?.toLowerCase();
  if (email !== undefined && email !== before.email) {
    if (await findContactByEmail(tx, tenantId, before.partner_id, email)) throw emailTaken(email);
  }
  let after: PartnerContactRow | undefined;
  try {
    after = await updateContact(tx, tenantId, id, { ...changes, email });
  } catch (error) {
    if (isUniqueViolation(error) && email !== undefined) throw emailTaken(email);
    throw error;
  }
  if (!after) throw new AppError('not_found', 'Contact not found');
  if (JSON.stringify(contactView(before)) !== JSON.stringify(contactView(after))) {
    await writeAudit(tx, ctx.audit, {
      action: 'contact.updated',
      subjectType: 'contact',
      subjectId: id,
      before: contactView(before),
      after: contactView(after),
    });
  }
  return after;
}

export async function removeContact(tx: Tx, ctx: WriteContext, id: string): Promise<PartnerContactRow> {
  const row = await deleteContact(tx, ctx.audit.tenantId, id);
  if (!row) throw new AppError('not_found', 'Contact not found');
  await writeAudit(tx, ctx.audit, {
    action: 'contact.deleted',
    subjectType: 'contact',
    subjectId: id,
    before: contactView(row),
  });
  return row;
}
