import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { missingFields, OUR_FIELDS, SF_FIELD } from '../../../src/crm/salesforce/salesforce-fields.ts';
import type { RegistrationStatus } from '../../../src/registrations/registration.table.ts';
import { PACKAGE_DIR, packageFields } from './package-fields.ts';

/** Every registration status, so the picklist is checked against the type (a new status fails to compile here). */
const STATUSES: Record<RegistrationStatus, true> = {
  submitted: true,
  approved: true,
  rejected: true,
  won: true,
  lost: true,
  expired: true,
};

/** What each field must be for the connector's writes: text ids and names, a status picklist, a date-time. */
const METADATA_TYPES: Record<string, string> = {
  [SF_FIELD.partner]: 'Text',
  [SF_FIELD.partnerId]: 'Text',
  [SF_FIELD.registrationId]: 'Text',
  [SF_FIELD.registrationStatus]: 'Picklist',
  [SF_FIELD.protectedUntil]: 'DateTime',
};

describe('crm-extensions/salesforce and the connector agree', () => {
  const fields = packageFields();

  it('defines exactly the Opportunity fields the connector reads and writes, with the types it writes', () => {
    expect(fields.map((f) => f.name).sort()).toEqual([...OUR_FIELDS].sort());
    expect(Object.fromEntries(fields.map((f) => [f.name, f.metadataType]))).toEqual(METADATA_TYPES);
  });

  it('makes Registration_Id__c a unique External ID (the upsert key), long enough for our ids', () => {
    const key = fields.find((f) => f.name === SF_FIELD.registrationId)!;
    expect(key).toMatchObject({ externalId: true, unique: true });
    expect(key.length).toBeGreaterThanOrEqual(36);
    expect(fields.filter((f) => f.externalId).map((f) => f.name)).toEqual([SF_FIELD.registrationId]);
  });

  it('offers every registration status in the status picklist, and nothing else', () => {
    const status = fields.find((f) => f.name === SF_FIELD.registrationStatus)!;
    expect([...(status.picklistValues ?? [])].sort()).toEqual(Object.keys(STATUSES).sort());
  });

  it('lets the integration user read and edit every one of them through the permission set', () => {
    const xml = readFileSync(
      path.join(
        PACKAGE_DIR,
        'force-app/main/default/permissionsets/PartnerLoop_Integration.permissionset-meta.xml',
      ),
      'utf8',
    );
    const granted = [...xml.matchAll(/<fieldPermissions>([\s\S]*?)<\/fieldPermissions>/g)].map((m) => ({
      field: /<field>([^<]+)<\/field>/.exec(m[1]!)?.[1],
      editable: /<editable>true<\/editable>/.test(m[1]!),
      readable: /<readable>true<\/readable>/.test(m[1]!),
    }));
    expect(granted.map((g) => g.field).sort()).toEqual(OUR_FIELDS.map((f) => `Opportunity.${f}`).sort());
    expect(granted.every((g) => g.editable && g.readable)).toBe(true);
  });

  it('is an SFDX project on the API version the app calls', () => {
    const project = JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'sfdx-project.json'), 'utf8'));
    expect(project.packageDirectories).toContainEqual(
      expect.objectContaining({ path: 'force-app', default: true }),
    );
    expect(project.sourceApiVersion).toBe(loadConfig({ NODE_ENV: 'test' }).salesforceApiVersion);
  });

  it('reports a missing field, and a registration id that could not take the upsert', () => {
    const described = fields.map((f) => ({ name: f.name, externalId: f.externalId, unique: f.unique }));
    expect(missingFields(described)).toEqual([]);
    expect(missingFields(described.filter((f) => f.name !== SF_FIELD.partner))).toEqual([SF_FIELD.partner]);
    const plain = described.map((f) => (f.name === SF_FIELD.registrationId ? { name: f.name } : f));
    expect(missingFields(plain)).toEqual(['Registration_Id__c (must be a unique External ID)']);
  });
});
