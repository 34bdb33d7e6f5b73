import { Type } from 'typebox';
import { ERROR_CODES } from './app-error.ts';

/** The one error response shape, as a schema for every route's 4xx/5xx responses and the OpenAPI document. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(Object.keys(ERROR_CODES).map((code) => Type.Literal(code))),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorResponse', title: 'Error' },
);
