import { randomUUID } from 'node:crypto';
import { defaultsOf, derivedFields } from './local-salesforce-automation.ts';
import { noSuchColumn, notFound, SalesforceError } from './local-salesforce-errors.ts';
import { newSalesforceId, toId18 } from './local-salesforce-ids.ts';
import type { FieldSpec, SObjectSpec } from './local-salesforce-schema.ts';
import { coerceFieldValue, formatDateTime } from './local-salesforce-values.ts';

export type SalesforceRecord = Record<string, unknown>;
export type ChangeType = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';

/** One record change inside a transaction, the stuff a change event is made of. */
export interface RecordChange {
  entityName: string;
  recordId: string;
  changeType: ChangeType;
  /** UPDATE: the fields whose value changed (plus LastModifiedDate). */
  changedFields: string[];
  /** CREATE/UNDELETE: every non-null field; UPDATE: the changed fields; DELETE: none. */
  values: SalesforceRecord;
  commitTimestamp: number;
}

/** Who writes and how: the user, the change origin (API client or empty for the UI), the transaction. */
export interface WriteContext {
  userId: string;
  changeOrigin: string;
  tx: Transaction;
}

/** Writes that commit or roll back together (a request, or an allOrNone composite/collection). */
export class Transaction {
  readonly key = randomUUID();
  readonly undo: (() => void)[] = [];
  readonly changes: RecordChange[] = [];
}

/** The org's records by sObject, with Salesforce's write rules (field checks, derived fields, uniqueness). */
export class RecordStore {
  private readonly objects = new Map<string, SObjectSpec>();
  private readonly tables = new Map<string, Map<string, SalesforceRecord>>();
  private counter = 0;

  constructor(specs: SObjectSpec[]) {
    for (const spec of specs) this.define(spec);
  }

  define(spec: SObjectSpec): void {
    this.objects.set(spec.name.toLowerCase(), spec);
    if (!this.tables.has(spec.name)) this.tables.set(spec.name, new Map());
  }

  allObjects(): SObjectSpec[] {
    return [...this.objects.values()];
  }

  /** The sObject's metadata by name (any case), or null. */
  object(name: string): SObjectSpec | null {
    return this.objects.get(name.toLowerCase()) ?? null;
  }

  /** The sObject's metadata, or NOT_FOUND as the REST resource answers for an unknown type. */
  objectOrNotFound(name: string): SObjectSpec {
    const spec = this.object(name);
    if (!spec) throw notFound();
    return spec;
  }

  field(spec: SObjectSpec, name: string): FieldSpec | null {
    const lower = name.toLowerCase();
    return spec.fields.find((f) => f.name.toLowerCase() === lower) ?? null;
  }

  table(sobject: string): Map<string, SalesforceRecord> {
    return this.tables.get(this.objectOrNotFound(sobject).name)!;
  }

  /** The object a record id belongs to, by its key prefix. */
  objectOfId(id: string): SObjectSpec | null {
    return this.allObjects().find((o) => id.startsWith(o.keyPrefix)) ?? null;
  }

  newId(spec: SObjectSpec): string {
    this.counter += 1;
    return newSalesforceId(spec.keyPrefix, this.counter);
  }

  /** A live record, NOT_FOUND when unknown, ENTITY_IS_DELETED when in the recycle bin. */
  get(sobject: string, id: string): SalesforceRecord {
    const record = this.table(sobject).get(toId18(id));
    if (!record) throw notFound();
    if (record.IsDeleted) throw new SalesforceError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    return record;
  }

  /** Live records whose external id field equals the value. */
  findBy(sobject: string, fieldName: string, value: unknown): SalesforceRecord[] {
    return [...this.table(sobject).values()].filter((r) => !r.IsDeleted && r[fieldName] === value);
  }

  insert(ctx: WriteContext, sobject: string, input: SalesforceRecord): string {
    const spec = this.objectOrNotFound(sobject);
    if (!spec.createable)
      throw new SalesforceError(
        400,
        'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY',
        `entity type cannot be inserted: ${spec.label}`,
      );
    const values = this.checkedValues(spec, input, 'create');
    const now = Date.now();
    const id = this.newId(spec);
    const record: SalesforceRecord = Object.fromEntries(spec.fields.map((f) => [f.name, null]));
    Object.assign(record, defaultsOf(spec, ctx.userId), values);
    Object.assign(
      record,
      derivedFields(spec, record, values, (label) => this.stage(label)),
    );
    const stamp = formatDateTime(now);
    Object.assign(record, {
      Id: id,
      IsDeleted: false,
      CreatedDate: stamp,
      CreatedById: ctx.userId,
      LastModifiedDate: stamp,
      LastModifiedById: ctx.userId,
      SystemModstamp: stamp,
    });
    this.checkRequired(spec, record);
    this.checkUnique(spec, record);
    const table = this.tables.get(spec.name)!;
    table.set(id, record);
    ctx.tx.undo.push(() => table.delete(id));
    this.record(ctx, spec, id, 'CREATE', [], eventValues(record), now);
    return id;
  }

  update(ctx: WriteContext, sobject: string, id: string, input: SalesforceRecord): void {
    const spec = this.objectOrNotFound(sobject);
    const record = this.get(spec.name, id);
    const values = this.checkedValues(spec, input, 'update');
    const next = { ...record, ...values };
    Object.assign(
      next,
      derivedFields(spec, next, values, (label) => this.stage(label)),
    );
    this.checkRequired(spec, next);
    this.checkUnique(spec, next);
    const now = Date.now();
    const changed = spec.fields
      .map((f) => f.name)
      .filter((name) => name !== 'SystemModstamp' && next[name] !== record[name]);
    const before = { ...record };
    Object.assign(record, next, {
      LastModifiedDate: formatDateTime(now),
      LastModifiedById: ctx.userId,
      SystemModstamp: formatDateTime(now),
    });
    ctx.tx.undo.push(() => Object.assign(record, before));
    const changedFields = [...changed, 'LastModifiedDate'];
    const payload = Object.fromEntries(changedFields.map((name) => [name, record[name]]));
    this.record(ctx, spec, record.Id as string, 'UPDATE', changedFields, payload, now);
  }

  remove(ctx: WriteContext, sobject: string, id: string): void {
    const spec = this.objectOrNotFound(sobject);
    const record = this.get(spec.name, id);
    const before = { ...record };
    const now = Date.now();
    Object.assign(record, { IsDeleted: true, SystemModstamp: formatDateTime(now) });
    ctx.tx.undo.push(() => Object.assign(record, before));
    this.record(ctx, spec, record.Id as string, 'DELETE', [], {}, now);
  }

  undelete(ctx: WriteContext, sobject: string, id: string): void {
    const spec = this.objectOrNotFound(sobject);
    const record = this.table(spec.name).get(toId18(id));
    if (!record) throw notFound();
    if (!record.IsDeleted)
      throw new SalesforceError(400, 'UNDELETE_FAILED', 'Entity is not in the recycle bin');
    const before = { ...record };
    const now = Date.now();
    Object.assign(record, { IsDeleted: false, SystemModstamp: formatDateTime(now) });
    ctx.tx.undo.push(() => Object.assign(record, before));
    this.record(ctx, spec, record.Id as string, 'UNDELETE', [], eventValues(record), now);
  }

  /** Upsert by an external id field (or `Id`): the record's id and whether it was created. */
  upsert(ctx: WriteContext, sobject: string, fieldName: string, value: string, input: SalesforceRecord) {
    const spec = this.objectOrNotFound(sobject);
    const key = this.field(spec, fieldName);
    if (!key || !(key.externalId || key.type === 'id')) {
      throw new SalesforceError(
        404,
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${fieldName}`,
      );
    }
    const { [key.name]: bodyValue, ...rest } = Object.fromEntries(
      Object.entries(input).map(([k, v]) => [this.field(spec, k)?.name ?? k, v]),
    );
    if (bodyValue !== undefined && String(bodyValue) !== value && key.type !== 'id')
      throw new SalesforceError(400, 'INVALID_FIELD', `${key.name} specified more than once`);
    const stored = coerceFieldValue(key, value);
    const matches =
      key.type === 'id' ? this.findBy(spec.name, 'Id', stored) : this.findBy(spec.name, key.name, stored);
    if (matches.length > 1) {
      throw new SalesforceError(
        300,
        'MULTIPLE_CHOICES',
        `more than one record found for external id field: ${matches.map((m) => m.Id).join(', ')}`,
      );
    }
    if (matches.length === 1) {
      const id = matches[0]!.Id as string;
      this.update(ctx, spec.name, id, rest);
      return { id, created: false };
    }
    if (key.type === 'id') throw notFound();
    return { id: this.insert(ctx, spec.name, { ...rest, [key.name]: value }), created: true };
  }

  private record(
    ctx: WriteContext,
    spec: SObjectSpec,
    recordId: string,
    changeType: ChangeType,
    changedFields: string[],
    values: SalesforceRecord,
    commitTimestamp: number,
  ) {
    ctx.tx.changes.push({
      entityName: spec.name,
      recordId,
      changeType,
      changedFields,
      values,
      commitTimestamp,
    });
  }

  private checkedValues(
    spec: SObjectSpec,
    input: SalesforceRecord,
    mode: 'create' | 'update',
  ): SalesforceRecord {
    const values: SalesforceRecord = {};
    for (const [name, raw] of Object.entries(input)) {
      if (name === 'attributes') continue;
      const f = this.field(spec, name);
      if (!f) throw noSuchColumn(name, spec.name);
      if (mode === 'update' && f.name === 'Id') continue;
      if (mode === 'create' ? !f.createable : !f.updateable) {
        throw new SalesforceError(
          400,
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          [f.name],
        );
      }
      const value = coerceFieldValue(f, raw);
      if (f.type === 'reference' && value !== null) this.checkReference(f, value as string);
      if (f.name === 'StageName' && spec.name === 'Opportunity' && !this.stage(value)) {
        throw new SalesforceError(
          400,
          'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          `Stage: bad value for restricted picklist field: ${String(value)}`,
          ['StageName'],
        );
      }
      values[f.name] = value;
    }
    return values;
  }

  private checkReference(f: FieldSpec, id: string) {
    const target = this.objectOfId(id);
    const allowed = f.referenceTo.map((t) => (t === 'ContentDocument' ? 'ContentNote' : t));
    const record =
      target && allowed.includes(target.name) ? this.tables.get(target.name)!.get(id) : undefined;
    if (!record || record.IsDeleted) {
      throw new SalesforceError(400, 'INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`, [f.name]);
    }
  }

  private stage(label: unknown): SalesforceRecord | undefined {
    return [...this.tables.get('OpportunityStage')!.values()].find(
      (s) => s.MasterLabel === label && s.IsActive,
    );
  }

  private checkRequired(spec: SObjectSpec, record: SalesforceRecord) {
    const missing = spec.fields.filter(
      (f) => f.required && (record[f.name] === null || record[f.name] === undefined),
    );
    if (missing.length > 0) {
      const names = missing.map((f) => f.name);
      throw new SalesforceError(
        400,
        'REQUIRED_FIELD_MISSING',
        `Required fields are missing: [${names.join(', ')}]`,
        names,
      );
    }
  }

  private checkUnique(spec: SObjectSpec, record: SalesforceRecord) {
    for (const f of spec.fields) {
      if (!f.unique || record[f.name] === null) continue;
      const other = this.findBy(spec.name, f.name, record[f.name]).find((r) => r.Id !== record.Id);
      if (other) {
        throw new SalesforceError(
          400,
          'DUPLICATE_VALUE',
          `duplicate value found: ${f.name} duplicates value on record with id: ${other.Id}`,
          [],
        );
      }
    }
  }
}

/** The fields a CREATE/UNDELETE event carries: every non-null field but Id and the system stamps. */
function eventValues(record: SalesforceRecord): SalesforceRecord {
  const skip = new Set(['Id', 'IsDeleted', 'SystemModstamp']);
  return Object.fromEntries(Object.entries(record).filter(([k, v]) => v !== null && !skip.has(k)));
}
