import type { LoggerOptions } from 'pino';
import type { Config } from './config.ts';

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log line. Secrets never reach logs:
 * credentials in headers, and any field whose name says it holds one.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-hubspot-signature"]',
  'req.headers["x-hubspot-signature-v3"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.clientSecret',
  '*.client_secret',
  '*.apiKey',
  '*.tokenEncryptionKey',
  '*.linkSigningKey',
  '*.databaseUrl',
  '*.redisUrl',
  '*.smtpUrl',
];

export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'partnerloop' },
  };
}
