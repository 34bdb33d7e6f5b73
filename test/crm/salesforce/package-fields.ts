import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CustomFieldInput, FieldType } from '../../salesforce/local-salesforce-schema.ts';

export const PACKAGE_DIR = path.resolve(import.meta.dirname, '../../../crm-extensions/salesforce');
export const FIELDS_DIR = path.join(PACKAGE_DIR, 'force-app/main/default/objects/Opportunity/fields');

const TYPES: Record<string, FieldType> = { Text: 'string', Picklist: 'picklist', DateTime: 'datetime' };

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/**
 * Our Opportunity fields as the SFDX project defines them, in the local Salesforce's terms: a test
 * org given these has exactly what an admin's deploy of crm-extensions/salesforce gives a real one.
 */
export function packageFields(): (CustomFieldInput & { metadataType: string })[] {
  return readdirSync(FIELDS_DIR)
    .filter((file) => file.endsWith('.field-meta.xml'))
    .sort()
    .map((file) => {
      const xml = readFileSync(path.join(FIELDS_DIR, file), 'utf8');
      const metadataType = tag(xml, 'type') ?? '';
      const type = TYPES[metadataType];
      if (!type) throw new Error(`${file}: no local type for ${metadataType}`);
      const length = tag(xml, 'length');
      return {
        name: tag(xml, 'fullName') ?? '',
        metadataType,
        type,
        label: tag(xml, 'label') ?? '',
        externalId: tag(xml, 'externalId') === 'true',
        unique: tag(xml, 'unique') === 'true',
        ...(length ? { length: Number(length) } : {}),
        picklistValues: [...xml.matchAll(/<value>\s*<fullName>([^<]+)<\/fullName>/g)].map((m) => m[1]!),
      };
    });
}

/** The fields ready for `startLocalSalesforce({ customFields })`. */
export const opportunityFieldsOption = () => ({
  Opportunity: packageFields().map(({ metadataType: _, ...field }) => field),
});
