import AjvCompiler from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';

type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type Serialize = (data: unknown) => string;
interface LazyCompilers {
  buildValidator: ReturnType<typeof AjvCompiler>;
  buildSerializer: ReturnType<typeof SerializerSelector>;
}

/**
 * Fastify's own schema compilers (Ajv for requests, fast-json-stringify for responses, built exactly
 * as Fastify builds them from the `ajv` and `serializerOpts` options), each route's schema compiled
 * on its first use instead of at start: compiling ~100 routes' schemas was ~0.7 s of every start,
 * for routes a process may never serve. Same validators and serializers, same error messages; a
 * route's first request pays for its own compile (a few ms).
 *
 * Fastify treats these as custom compilers, so it leaves a `headers` schema as written; Node gives
 * header names in lower case, so the header names in such a schema are lowercased here, as Fastify
 * does for its own compilers (lowerCaseHeaderNames).
 */
export function lazySchemaCompilers(): LazyCompilers {
  const buildValidator = AjvCompiler();
  const buildSerializer = SerializerSelector();
  const compilers = {
    buildValidator(...args: Parameters<typeof buildValidator>) {
      const compile = buildValidator(...args);
      return (route: Parameters<typeof compile>[0]): Validate => {
        let validate: Validate | undefined;
        // Fastify reads `errors` from the function it holds after a failed call.
        const lazy: Validate = (data) => {
          validate ??= compile(
            route.httpPart === 'headers' && isPlainObject(route.schema)
              ? { ...route, schema: lowerCaseHeaderNames(route.schema) as typeof route.schema }
              : route,
          ) as Validate;
          const result = validate(data);
          lazy.errors = validate.errors;
          return result;
        };
        lazy.errors = null;
        return lazy;
      };
    },
    buildSerializer(...args: Parameters<typeof buildSerializer>) {
      const compile = buildSerializer(...args);
      return (route: Parameters<typeof compile>[0]): Serialize => {
        let serialize: Serialize | undefined;
        return (data) => {
          serialize ??= compile(route) as Serialize;
          return serialize(data);
        };
      };
    },
  };
  // Typed as Fastify's factories: its validation reads only `errors` from a validator (lib/validation.js),
  // not the rest of Ajv's ValidateFunction (`schema`, `schemaEnv`), which a lazy one cannot have yet.
  return compilers as unknown as LazyCompilers;
}

/** Keywords whose value is one subschema or an array of them. */
const SUBSCHEMAS = new Set([
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'items',
  'additionalItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contains',
]);
/** Keywords whose value maps names that are not header names (definitions, patterns) to subschemas. */
const SCHEMA_MAPS = new Set(['definitions', '$defs', 'patternProperties']);
/** Keywords whose keys are header names. */
const HEADER_KEYED = new Set(['properties', 'dependencies', 'dependentSchemas', 'dependentRequired']);

/** A JSON schema written as an object literal (Fastify leaves any other kind of schema object as is). */
const isPlainObject = (value: unknown) =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;

const lower = (name: unknown) => (typeof name === 'string' ? name.toLowerCase() : name);

/**
 * A copy of a headers schema with every header name in lower case: the keys of `properties` and of
 * the dependency keywords, the names in `required` and in array-form dependencies, and, inside
 * `propertyNames`, the `enum`/`const` names; through every subschema. Patterns are left as written
 * (a regular expression cannot be lowercased safely): they must match lower-case names.
 */
export function lowerCaseHeaderNames(schema: unknown, naming = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => lowerCaseHeaderNames(item, naming));
  if (schema === null || typeof schema !== 'object') return schema;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    const isMap = value !== null && typeof value === 'object' && !Array.isArray(value);
    if (key === 'required' && Array.isArray(value)) result[key] = value.map(lower);
    else if (HEADER_KEYED.has(key) && isMap)
      result[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [
          name.toLowerCase(),
          Array.isArray(sub) ? sub.map(lower) : lowerCaseHeaderNames(sub, naming),
        ]),
      );
    else if (SCHEMA_MAPS.has(key) && isMap)
      result[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, lowerCaseHeaderNames(sub, naming)]),
      );
    else if (SUBSCHEMAS.has(key)) result[key] = lowerCaseHeaderNames(value, naming);
    else if (key === 'propertyNames') result[key] = lowerCaseHeaderNames(value, true);
    else if (naming && key === 'enum' && Array.isArray(value)) result[key] = value.map(lower);
    else if (naming && key === 'const') result[key] = lower(value);
    else result[key] = value;
  }
  return result;
}
