import { Parser } from 'htmlparser2';
import type { CrmNoteInput, CrmResult } from '../crm-connector.ts';
import { fail, ok } from '../crm-connector.ts';
import { findWriteRecords, saveWriteRecord } from '../crm-sync.repository.ts';
import type { SalesforceConnector } from './salesforce-connector.ts';
import { isSalesforceId } from './salesforce-soql.ts';

/** Task.Description holds 32,000 characters; Subject 255. */
const DESCRIPTION_MAX = 32_000;
const SUBJECT_MAX = 255;

/** Our note HTML (paragraphs, line breaks, bold, escaped text) as the plain text a Task shows. */
export function noteText(html: string): string {
  let text = '';
  const parser = new Parser(
    {
      ontext: (chunk) => {
        text += chunk;
      },
      onopentag: (name) => {
        if (name === 'br') text += '\n';
      },
      onclosetag: (name) => {
        if (name === 'p' || name === 'div' || name === 'li') text += '\n\n';
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return text
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * A note on the opportunity's timeline, as a completed Task with `WhatId` = the opportunity.
 *
 * Why a Task and not a ContentNote: a Task shows in the opportunity's Activity timeline, where reps
 * read the deal's history and correspondence (a ContentNote only lists under the Notes related
 * list); it is one call (a ContentNote needs a second record, its ContentDocumentLink), works in
 * every org (Notes can be switched off), and takes plain text, where ContentNote's Content must be
 * base64 of a restricted HTML subset Salesforce rejects on the slightest deviation. Our notes are
 * short and need no formatting beyond line breaks.
 *
 * Idempotent through the key: the Task id is recorded under it as soon as Salesforce answers, and
 * a retry with the same key returns it without writing again.
 */
export async function addOpportunityTask(
  connector: SalesforceConnector,
  note: CrmNoteInput,
  idempotencyKey: string,
): Promise<CrmResult<{ noteId: string }>> {
  const { db, tenantId, caller } = connector;
  const made = await findWriteRecords(db, tenantId, idempotencyKey);
  if (made.note) return ok({ noteId: made.note });
  if (!isSalesforceId(note.dealId))
    return fail({ kind: 'not_found', message: `no opportunity ${note.dealId}` });
  const text = noteText(note.bodyHtml);
  const firstLine = text.split('\n')[0] ?? '';
  const created = await caller.call((conn) =>
    conn.sobject('Task').create({
      WhatId: note.dealId,
      Subject: (firstLine.length > 0 ? firstLine : 'PartnerLoop note').slice(0, SUBJECT_MAX),
      Description: text.slice(0, DESCRIPTION_MAX),
      Status: 'Completed',
      Priority: 'Normal',
      ActivityDate: note.at.toISOString().slice(0, 10),
    }),
  );
  if (!created.ok) return created;
  const saved = created.value as {
    id?: string;
    success: boolean;
    errors?: { errorCode?: string; message?: string }[];
  };
  if (!saved.success || !saved.id) {
    const error = saved.errors?.[0];
    return fail({ kind: 'invalid', code: error?.errorCode, message: error?.message ?? 'Task refused' });
  }
  await saveWriteRecord(db, tenantId, idempotencyKey, 'note', saved.id);
  return ok({ noteId: saved.id });
}
