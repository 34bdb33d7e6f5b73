/**
 * The sObject metadata the local Salesforce knows: the standard objects PartnerLoop touches, with
 * the field properties `describe` reports and writes enforce. Custom fields (`…__c`) are added per
 * org (option `customFields` or `addCustomField`), so an org can lack the fields our app needs.
 */
export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'picklist'
  | 'reference'
  | 'boolean'
  | 'double'
  | 'currency'
  | 'percent'
  | 'int'
  | 'date'
  | 'datetime'
  | 'email'
  | 'phone'
  | 'url'
  | 'base64';

export interface FieldSpec {
  name: string;
  type: FieldType;
  label: string;
  length: number;
  custom: boolean;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  /** Required on create (not nillable and not defaulted). */
  required: boolean;
  externalId: boolean;
  unique: boolean;
  referenceTo: string[];
  relationshipName: string | null;
  picklistValues: string[];
}

export interface SObjectSpec {
  name: string;
  label: string;
  keyPrefix: string;
  createable: boolean;
  fields: FieldSpec[];
}

export type CustomFieldInput = Omit<Partial<FieldSpec>, 'name'> & { name: string };

const TEXT_LENGTH: Partial<Record<FieldType, number>> = {
  id: 18,
  reference: 18,
  string: 255,
  textarea: 32000,
  picklist: 255,
  email: 80,
  phone: 40,
  url: 255,
};

export function field(name: string, type: FieldType, extra: Partial<FieldSpec> = {}): FieldSpec {
  const system = type === 'id';
  return {
    name,
    type,
    label: extra.label ?? name.replace(/__c$/, '').replace(/_/g, ' '),
    length: TEXT_LENGTH[type] ?? 0,
    custom: name.endsWith('__c'),
    nillable: !system && type !== 'boolean',
    createable: !system,
    updateable: !system,
    required: false,
    externalId: false,
    unique: false,
    referenceTo: [],
    relationshipName: null,
    picklistValues: [],
    ...extra,
  };
}

const readOnly = { createable: false, updateable: false } as const;
const required = { required: true, nillable: false } as const;

function reference(name: string, to: string[], extra: Partial<FieldSpec> = {}): FieldSpec {
  const relationshipName = name.endsWith('__c') ? name.replace(/__c$/, '__r') : name.replace(/Id$/, '');
  return field(name, 'reference', { referenceTo: to, relationshipName, ...extra });
}

/** Id, IsDeleted, audit fields and SystemModstamp: every object has them, none is writable. */
function systemFields(withOwner: boolean): FieldSpec[] {
  return [
    field('Id', 'id', { ...readOnly, nillable: false }),
    field('IsDeleted', 'boolean', { ...readOnly, nillable: false }),
    field('CreatedDate', 'datetime', { ...readOnly, nillable: false }),
    reference('CreatedById', ['User'], { ...readOnly, nillable: false }),
    field('LastModifiedDate', 'datetime', { ...readOnly, nillable: false }),
    reference('LastModifiedById', ['User'], { ...readOnly, nillable: false }),
    field('SystemModstamp', 'datetime', { ...readOnly, nillable: false }),
    ...(withOwner ? [reference('OwnerId', ['User'], { nillable: false })] : []),
  ];
}

export const FORECAST_CATEGORIES = ['Omitted', 'Pipeline', 'BestCase', 'Commit', 'Closed'];

export function standardObjects(stageLabels: string[]): SObjectSpec[] {
  return [
    {
      name: 'Opportunity',
      label: 'Opportunity',
      keyPrefix: '006',
      createable: true,
      fields: [
        ...systemFields(true),
        field('Name', 'string', { ...required, length: 120 }),
        field('StageName', 'picklist', { ...required, label: 'Stage', picklistValues: stageLabels }),
        field('Amount', 'currency'),
        field('CloseDate', 'date', { ...required, label: 'Close Date' }),
        reference('AccountId', ['Account']),
        field('Probability', 'percent'),
        field('IsClosed', 'boolean', { ...readOnly, nillable: false }),
        field('IsWon', 'boolean', { ...readOnly, nillable: false }),
        field('ForecastCategoryName', 'picklist', { picklistValues: FORECAST_CATEGORIES }),
        field('Type', 'picklist', { picklistValues: ['New Customer', 'Existing Customer - Upgrade'] }),
        field('LeadSource', 'picklist', { picklistValues: ['Web', 'Partner Referral', 'Other'] }),
        field('NextStep', 'string'),
        field('Description', 'textarea'),
      ],
    },
    {
      name: 'Account',
      label: 'Account',
      keyPrefix: '001',
      createable: true,
      fields: [
        ...systemFields(true),
        field('Name', 'string', required),
        field('Website', 'url'),
        field('Phone', 'phone'),
        field('Industry', 'picklist', { picklistValues: ['Technology', 'Consulting', 'Other'] }),
        field('Type', 'picklist', { picklistValues: ['Prospect', 'Customer - Direct', 'Partner'] }),
        field('BillingCountry', 'string', { length: 80 }),
        field('Description', 'textarea'),
      ],
    },
    {
      name: 'Contact',
      label: 'Contact',
      keyPrefix: '003',
      createable: true,
      fields: [
        ...systemFields(true),
        field('FirstName', 'string', { length: 40 }),
        field('LastName', 'string', { ...required, length: 80 }),
        field('Name', 'string', readOnly),
        field('Email', 'email'),
        field('Phone', 'phone'),
        field('Title', 'string', { length: 128 }),
        reference('AccountId', ['Account']),
      ],
    },
    {
      name: 'Task',
      label: 'Task',
      keyPrefix: '00T',
      createable: true,
      fields: [
        ...systemFields(true),
        field('Subject', 'string'),
        field('Status', 'picklist', { nillable: false, picklistValues: ['Not Started', 'Completed'] }),
        field('Priority', 'picklist', { nillable: false, picklistValues: ['High', 'Normal', 'Low'] }),
        field('IsClosed', 'boolean', { ...readOnly, nillable: false }),
        reference('WhatId', ['Opportunity', 'Account']),
        reference('WhoId', ['Contact']),
        field('ActivityDate', 'date'),
        field('TaskSubtype', 'picklist', { picklistValues: ['Task', 'Email', 'Call'] }),
        field('Description', 'textarea'),
      ],
    },
    {
      name: 'ContentNote',
      label: 'Note',
      keyPrefix: '069',
      createable: true,
      fields: [...systemFields(true), field('Title', 'string', required), field('Content', 'base64')],
    },
    {
      name: 'ContentDocumentLink',
      label: 'Content Document Link',
      keyPrefix: '06A',
      createable: true,
      fields: [
        ...systemFields(false),
        reference('ContentDocumentId', ['ContentDocument'], { ...required, updateable: false }),
        reference('LinkedEntityId', ['Opportunity', 'Account', 'Contact'], {
          ...required,
          updateable: false,
        }),
        field('ShareType', 'picklist', { picklistValues: ['V', 'C', 'I'] }),
        field('Visibility', 'picklist', { picklistValues: ['AllUsers', 'InternalUsers', 'SharedUsers'] }),
      ],
    },
    {
      name: 'OpportunityStage',
      label: 'Opportunity Stage',
      keyPrefix: '01J',
      createable: false,
      fields: [
        ...systemFields(false),
        ...['MasterLabel', 'ApiName', 'ForecastCategoryName', 'Description'].map((n) =>
          field(n, 'string', readOnly),
        ),
        ...['IsActive', 'IsClosed', 'IsWon'].map((n) =>
          field(n, 'boolean', { ...readOnly, nillable: false }),
        ),
        field('SortOrder', 'int', readOnly),
        field('DefaultProbability', 'percent', readOnly),
      ],
    },
    {
      name: 'User',
      label: 'User',
      keyPrefix: '005',
      createable: false,
      fields: [
        ...systemFields(false),
        ...['Username', 'Name', 'FirstName', 'LastName', 'Alias'].map((n) => field(n, 'string', readOnly)),
        field('Email', 'email', readOnly),
        field('IsActive', 'boolean', { ...readOnly, nillable: false }),
      ],
    },
  ];
}
