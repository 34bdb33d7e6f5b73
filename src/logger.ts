import type { LoggerOptions } from 'pino';
import type { Config } from './config.ts';

/** Field names that hold a secret, redacted at the top level and up to two levels deep. */
const SECRET_FIELDS = [
  'password',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'apiKey',
  'tokenEncryptionKey',
  'linkSigningKey',
  'databaseUrl',
  'redisUrl',
  'smtpUrl',
];

/**
 * Paths pino replaces with "[redacted]" at the top of a log line or up to two levels deep (pino has no "any depth" path). Secrets never reach logs:
 * credentials in headers, and any field whose name says it holds one.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-hubspot-signature"]',
  'req.headers["x-hubspot-signature-v3"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'partnerloop' },
  };
}
