import type { SalesforceRecord } from './local-salesforce-records.ts';
import type { SObjectSpec } from './local-salesforce-schema.ts';

/**
 * What Salesforce fills in by itself on a write: defaults on create (the owner, a Task's status
 * and priority) and fields derived from others (an Opportunity's IsClosed, IsWon, Probability and
 * ForecastCategoryName from its stage, unless Probability is written too; a Task's IsClosed; a
 * Contact's Name).
 */
export function defaultsOf(spec: SObjectSpec, userId: string): SalesforceRecord {
  const owner = spec.fields.some((f) => f.name === 'OwnerId') ? { OwnerId: userId } : {};
  if (spec.name === 'Task')
    return { ...owner, Status: 'Not Started', Priority: 'Normal', TaskSubtype: 'Task' };
  if (spec.name === 'ContentDocumentLink') return { ShareType: 'V', Visibility: 'AllUsers' };
  return owner;
}

export function derivedFields(
  spec: SObjectSpec,
  record: SalesforceRecord,
  written: SalesforceRecord,
  stageOf: (label: unknown) => SalesforceRecord | undefined,
): SalesforceRecord {
  if (spec.name === 'Opportunity' && 'StageName' in written) {
    const stage = stageOf(record.StageName) ?? {};
    const rule = {
      IsClosed: stage.IsClosed,
      IsWon: stage.IsWon,
      Probability: stage.DefaultProbability,
      ForecastCategoryName: stage.ForecastCategoryName,
    };
    return 'Probability' in written ? { ...rule, Probability: record.Probability } : rule;
  }
  if (spec.name === 'Task') return { IsClosed: record.Status === 'Completed' };
  if (spec.name === 'Contact') return { Name: [record.FirstName, record.LastName].filter(Boolean).join(' ') };
  return {};
}
