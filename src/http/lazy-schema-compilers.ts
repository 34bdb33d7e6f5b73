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
 * One difference, since Fastify treats these as custom compilers: it no longer lowercases the keys
 * of a `headers` schema, so a headers schema must name its headers in lower case (as Node gives
 * them). The app has none today.
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
          validate ??= compile(route) as Validate;
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
