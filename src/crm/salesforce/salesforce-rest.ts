import type { CrmResult } from '../crm-connector.ts';
import { fail, ok } from '../crm-connector.ts';
import type { SalesforceCaller } from './salesforce-caller.ts';
import { toFailure } from './salesforce-caller.ts';

/** REST shapes the connector reads, and the two ways it batches: SOQL pages and composite requests. */
export interface QueryPage<T> {
  totalSize: number;
  done: boolean;
  records: T[];
  nextRecordsUrl?: string;
}

/** One page of a SOQL query (`batchSize` asks Salesforce for at most that many, from 200 to 2000). */
export function queryPage<T>(caller: SalesforceCaller, soql: string, batchSize?: number) {
  return caller.call((conn) =>
    conn.request<QueryPage<T>>({
      method: 'GET',
      url: `/services/data/v${conn.version}/query?q=${encodeURIComponent(soql)}`,
      ...(batchSize ? { headers: { 'Sforce-Query-Options': `batchSize=${batchSize}` } } : {}),
    }),
  );
}

/** Every record of a query, following `nextRecordsUrl`; stops (with what it has) past `max`. */
export async function queryAll<T>(
  caller: SalesforceCaller,
  soql: string,
  max = 10_000,
): Promise<CrmResult<T[]>> {
  const first = await queryPage<T>(caller, soql);
  if (!first.ok) return first;
  const records = [...first.value.records];
  let next = first.value.done ? undefined : first.value.nextRecordsUrl;
  while (next && records.length < max) {
    const url = next;
    const page = await caller.call((conn) => conn.request<QueryPage<T>>(url));
    if (!page.ok) return page;
    records.push(...page.value.records);
    next = page.value.done ? undefined : page.value.nextRecordsUrl;
  }
  return ok(records);
}

export interface SubRequest {
  referenceId: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Under `/services/data/vXX.X/` (e.g. `sobjects/Account`); ids of earlier subrequests as `@{ref.id}`. */
  path: string;
  body?: Record<string, unknown>;
}

export interface SubResponse {
  status: number;
  body: any;
}

const HALTED = 'PROCESSING_HALTED';

/**
 * Up to 25 subrequests in one call (`/composite`). With `allOrNone` Salesforce rolls back every
 * write when one fails; either way a failed subrequest makes the whole a failure, reported with
 * the subrequest's own error (not the PROCESSING_HALTED of the ones rolled back with it).
 */
export async function composite(
  caller: SalesforceCaller,
  subrequests: SubRequest[],
  allOrNone: boolean,
): Promise<CrmResult<Map<string, SubResponse>>> {
  if (subrequests.length > 25) throw new Error('a composite request takes at most 25 subrequests');
  const answer = await caller.call((conn) =>
    conn.requestPost<{ compositeResponse: { referenceId: string; httpStatusCode: number; body: any }[] }>(
      `/services/data/v${conn.version}/composite`,
      {
        allOrNone,
        compositeRequest: subrequests.map((sub) => ({
          method: sub.method,
          url: `/services/data/v${conn.version}/${sub.path}`,
          referenceId: sub.referenceId,
          ...(sub.body ? { body: sub.body } : {}),
        })),
      },
    ),
  );
  if (!answer.ok) return answer;
  const responses = new Map<string, SubResponse>();
  const errors: { errorCode?: string; message?: string }[] = [];
  for (const sub of answer.value.compositeResponse) {
    responses.set(sub.referenceId, { status: sub.httpStatusCode, body: sub.body });
    if (sub.httpStatusCode >= 400) errors.push(...(Array.isArray(sub.body) ? sub.body : [sub.body ?? {}]));
  }
  const cause = errors.find((e) => e.errorCode !== HALTED) ?? errors[0];
  if (cause) {
    const failure = toFailure(
      { errorCode: cause.errorCode ?? 'ERROR_HTTP_400', message: cause.message },
      {
        refreshFailure: () => undefined,
      },
    );
    return fail(failure);
  }
  return ok(responses);
}
