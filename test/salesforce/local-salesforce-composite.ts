import { SalesforceError } from './local-salesforce-errors.ts';
import type { WriteContext } from './local-salesforce-records.ts';
import { ok, type RestRequest, type RestResponse, type RestRoute } from './local-salesforce-rest.ts';

/**
 * Composite (`composite`): up to 25 subrequests run in order, `@{ref.path}` references to earlier
 * answers in URLs and bodies, `allOrNone` rolling every write back when one fails (the others
 * read PROCESSING_HALTED), counted as one API call.
 */
const MAX_SUBREQUESTS = 25;

interface SubRequestInput {
  method: string;
  url: string;
  referenceId: string;
  body?: unknown;
  httpHeaders?: Record<string, string>;
}

interface SubResponse {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

const halted = (message: string) => [{ errorCode: 'PROCESSING_HALTED', message }];
const ROLLED_BACK = 'The transaction was rolled back since another operation in the same transaction failed.';

class UnresolvedReference extends Error {}

/** Reads `records[0].Id` / `id` / `Account.Name` from a subresponse body. */
function lookup(body: unknown, path: string): unknown {
  let value: unknown = body;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function resolve(value: unknown, results: Map<string, SubResponse>): unknown {
  if (typeof value === 'string') {
    const whole = /^@\{([\w]+)\.([^}]+)\}$/.exec(value);
    const read = (ref: string, path: string) => {
      const result = results.get(ref);
      const found = result && result.httpStatusCode < 300 ? lookup(result.body, path) : undefined;
      if (found === undefined || found === null)
        throw new UnresolvedReference(
          `Invalid reference specified. No value for ${ref}.${path} found in ${ref}. Provided referenceId ('${ref}') is invalid or ${ref} is not yet processed.`,
        );
      return found;
    };
    if (whole) return read(whole[1]!, whole[2]!);
    return value.replace(/@\{([\w]+)\.([^}]+)\}/g, (_, ref: string, path: string) => String(read(ref, path)));
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, results));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, results)]));
  return value;
}

function subResponse(input: SubRequestInput, response: RestResponse, version: string): SubResponse {
  const headers: Record<string, string> = {};
  const body = response.body as { id?: string } | undefined;
  if (response.status === 201 && body?.id) {
    const type = /sobjects\/(\w+)/.exec(input.url)?.[1];
    headers.Location = `/services/data/v${version}/sobjects/${type}/${body.id}`;
  }
  return {
    body: response.body ?? null,
    httpHeaders: headers,
    httpStatusCode: response.status,
    referenceId: input.referenceId,
  };
}

function checkComposite(body: unknown): { allOrNone: boolean; subrequests: SubRequestInput[] } {
  const input = body as { allOrNone?: boolean; compositeRequest?: SubRequestInput[] } | undefined;
  if (!input || !Array.isArray(input.compositeRequest))
    throw new SalesforceError(400, 'JSON_PARSER_ERROR', 'compositeRequest is required');
  if (input.compositeRequest.length > MAX_SUBREQUESTS)
    throw new SalesforceError(
      400,
      'INVALID_REQUEST',
      `Limit Exceeded: you can't have more than ${MAX_SUBREQUESTS} subrequests`,
    );
  const seen = new Set<string>();
  for (const sub of input.compositeRequest) {
    if (!sub.method || !sub.url || !sub.referenceId)
      throw new SalesforceError(400, 'INVALID_REQUEST', 'Each subrequest needs method, url and referenceId');
    if (seen.has(sub.referenceId))
      throw new SalesforceError(
        400,
        'INVALID_REQUEST',
        `Duplicate referenceId provided in the request: ${sub.referenceId}`,
      );
    seen.add(sub.referenceId);
  }
  return { allOrNone: input.allOrNone === true, subrequests: input.compositeRequest };
}

function composite(request: RestRequest): RestResponse {
  const { allOrNone, subrequests } = checkComposite(request.body);
  const results = new Map<string, SubResponse>();
  const run = (input: SubRequestInput, ctx?: WriteContext): SubResponse => {
    try {
      const url = resolve(input.url, results) as string;
      const body = resolve(input.body, results);
      const response = request.dispatch({ method: input.method, url, body, headers: input.httpHeaders, ctx });
      return subResponse(input, response, request.version);
    } catch (error) {
      if (!(error instanceof UnresolvedReference)) throw error;
      return {
        body: halted(error.message),
        httpHeaders: {},
        httpStatusCode: 400,
        referenceId: input.referenceId,
      };
    }
  };
  if (!allOrNone) {
    for (const input of subrequests) results.set(input.referenceId, run(input));
    return ok({ compositeResponse: [...results.values()] });
  }
  let failed: SubResponse | null = null;
  try {
    request.write((ctx) => {
      for (const input of subrequests) {
        const result = run(input, ctx);
        results.set(input.referenceId, result);
        if (result.httpStatusCode >= 400) {
          failed = result;
          throw new Error('roll back');
        }
      }
    });
  } catch (error) {
    if (!failed) throw error;
  }
  if (!failed) return ok({ compositeResponse: [...results.values()] });
  const failure: SubResponse = failed;
  return ok({
    compositeResponse: subrequests.map((input) =>
      input.referenceId === failure.referenceId
        ? failure
        : { body: halted(ROLLED_BACK), httpHeaders: {}, httpStatusCode: 400, referenceId: input.referenceId },
    ),
  });
}

export const compositeRoutes: RestRoute[] = [
  { method: 'POST', pattern: /^composite$/, handle: (request) => composite(request) },
];
