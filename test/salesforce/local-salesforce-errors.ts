/** One entry of Salesforce's REST error array: `[{ "message", "errorCode", "fields"? }]`. */
export interface SalesforceErrorBody {
  message: string;
  errorCode: string;
  fields?: string[];
}

/**
 * A REST failure as Salesforce reports it: an HTTP status and the error array. Thrown by the
 * resource handlers, turned into the response by the dispatcher (or into a composite subresponse).
 */
export class SalesforceError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
  }

  body(): SalesforceErrorBody[] {
    return [
      { message: this.message, errorCode: this.errorCode, ...(this.fields ? { fields: this.fields } : {}) },
    ];
  }
}

export const invalidSession = () =>
  new SalesforceError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');

export const notFound = () => new SalesforceError(404, 'NOT_FOUND', 'The requested resource does not exist');

export const noSuchColumn = (field: string, sobject: string) =>
  new SalesforceError(400, 'INVALID_FIELD', `No such column '${field}' on sobject of type ${sobject}`);

export const requestLimitExceeded = () =>
  new SalesforceError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');

export const malformedQuery = (message: string) => new SalesforceError(400, 'MALFORMED_QUERY', message);
