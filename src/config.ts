import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * All configuration comes from environment variables, parsed once here.
 * Every problem names its variable, so a wrong setting is fixed in one read.
 * The README's configuration table is the one list of these variables.
 */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Key prefix for everything PartnerLoop keeps in Redis; lets deployments share one Redis. */
  redisPrefix: string;
  smtpUrl: string | undefined;
  logLevel: LogLevel;
  /** Base64 of 32 bytes: encrypts OAuth tokens at rest (AES-256-GCM). Generated in DATA_DIR when unset outside production. */
  tokenEncryptionKey: string | undefined;
  /** At least 32 bytes: signs partner links and OAuth state. Generated in DATA_DIR when unset outside production. */
  linkSigningKey: string | undefined;
  jobConcurrency: number;
  outboxPollMs: number;
  shutdownTimeoutMs: number;
  /** Domain of the reply addresses (`reply+<token>@…`); its MX points at our inbound receiver. */
  inboundEmailDomain: string;
  /** Sender address of partner emails (the display name comes from the tenant's branding). */
  emailFrom: string;
  /** Rapid stage changes of one deal within this many seconds make one email. */
  emailCoalesceSeconds: number;
  /** DKIM signing of outbound email: all three set, or none. */
  dkim: { domainName: string; keySelector: string; privateKey: string } | undefined;
  /** Bearer secret of POST /inbound/email; without it that route answers 503 not_configured. */
  inboundEmailSecret: string | undefined;
  /** Port of the built-in SMTP receiver; unset: off (the embedded `start` uses 2525). */
  inboundSmtpPort: number | undefined;
  /** Largest inbound email accepted, in bytes (SMTP SIZE, HTTP body limit). */
  inboundMaxBytes: number;
  /** Mailgun's webhook signing key: verifies the inbound route's HMAC signature. */
  mailgunSigningKey: string | undefined;
  /** Basic-auth credentials Postmark's inbound webhook URL carries. */
  postmarkInboundUser: string | undefined;
  postmarkInboundPassword: string | undefined;
  /** The authserv-id of our inbound MX: only its Authentication-Results header is trusted. */
  inboundAuthservId: string | undefined;
  /** HubSpot app credentials; without a client id every HubSpot route answers 503 not_configured. */
  hubspotClientId: string | undefined;
  hubspotClientSecret: string | undefined;
  hubspotAppId: string | undefined;
  /** HubSpot's API host (tokens, CRM); tests and local runs point it at the local HubSpot. */
  hubspotApiBase: string;
  /** HubSpot's web host, where the admin approves the install (`/oauth/authorize`). */
  hubspotAuthBase: string;
  /** Salesforce External Client App credentials; without a client id every Salesforce route answers 503. */
  salesforceClientId: string | undefined;
  salesforceClientSecret: string | undefined;
  /** Login host of production orgs (authorize, token, revoke); tests point it at the local Salesforce. */
  salesforceLoginUrl: string;
  /** Login host of sandboxes (`/oauth/salesforce/install?sandbox=true`). */
  salesforceSandboxLoginUrl: string;
  /** REST API version every call uses (jsforce's own default is far older). */
  salesforceApiVersion: string;
  /** `Sforce-Call-Options: client=…` on our calls: change events of our own writes carry it. */
  salesforceCallClient: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_ENVS = ['development', 'production', 'test'] as const;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };

  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
        return undefined;
      }
      return raw;
    } catch {
      // The value may hold a password: never echo it.
      problems.push(`${name} is not a valid URL`);
      return undefined;
    }
  };

  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };

  const baseUrl = (name: string, fallback: string): string =>
    (url(name, ['http:', 'https:']) ?? fallback).replace(/\/+$/, '');

  const nodeEnv = oneOf('NODE_ENV', NODE_ENVS, 'development');
  const port = integer('PORT', 3000, 0, 65535);
  const publicUrl = url('PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`;

  const config: Config = {
    nodeEnv,
    port,
    host: read('HOST') ?? '127.0.0.1',
    publicUrl: publicUrl.replace(/\/+$/, ''),
    dataDir: path.resolve(read('DATA_DIR') ?? './data'),
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: read('REDIS_PREFIX') ?? 'partnerloop',
    smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']),
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'warn' : 'info'),
    tokenEncryptionKey: read('TOKEN_ENCRYPTION_KEY'),
    linkSigningKey: read('LINK_SIGNING_KEY'),
    jobConcurrency: integer('JOB_CONCURRENCY', 10, 1, 1000),
    outboxPollMs: integer('OUTBOX_POLL_MS', 200, 5, 60_000),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    inboundEmailDomain: (read('INBOUND_EMAIL_DOMAIN') ?? 'reply.localhost').toLowerCase(),
    emailFrom: read('EMAIL_FROM') ?? 'partners@localhost',
    emailCoalesceSeconds: integer('EMAIL_COALESCE_SECONDS', 120, 0, 86_400),
    dkim: dkimConfig(read, problems),
    inboundEmailSecret: read('INBOUND_EMAIL_SECRET'),
    inboundSmtpPort:
      read('INBOUND_SMTP_PORT') === undefined ? undefined : integer('INBOUND_SMTP_PORT', 0, 0, 65535),
    inboundMaxBytes: integer('INBOUND_MAX_BYTES', 10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    mailgunSigningKey: read('MAILGUN_SIGNING_KEY'),
    postmarkInboundUser: read('POSTMARK_INBOUND_USER'),
    postmarkInboundPassword: read('POSTMARK_INBOUND_PASSWORD'),
    inboundAuthservId: read('INBOUND_AUTHSERV_ID'),
    hubspotClientId: read('HUBSPOT_CLIENT_ID'),
    hubspotClientSecret: read('HUBSPOT_CLIENT_SECRET'),
    hubspotAppId: read('HUBSPOT_APP_ID'),
    hubspotApiBase: baseUrl('HUBSPOT_API_BASE', 'https://api.hubapi.com'),
    hubspotAuthBase: baseUrl('HUBSPOT_AUTH_BASE', 'https://app.hubspot.com'),
    salesforceClientId: read('SALESFORCE_CLIENT_ID'),
    salesforceClientSecret: read('SALESFORCE_CLIENT_SECRET'),
    salesforceLoginUrl: baseUrl('SALESFORCE_LOGIN_URL', 'https://login.salesforce.com'),
    salesforceSandboxLoginUrl: baseUrl('SALESFORCE_SANDBOX_LOGIN_URL', 'https://test.salesforce.com'),
    salesforceApiVersion: read('SALESFORCE_API_VERSION') ?? '62.0',
    salesforceCallClient: read('SALESFORCE_CALL_CLIENT') ?? 'partnerloop',
  };

  if (config.tokenEncryptionKey !== undefined && !isKey32(config.tokenEncryptionKey)) {
    problems.push('TOKEN_ENCRYPTION_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  }
  if (config.linkSigningKey !== undefined && config.linkSigningKey.length < 32) {
    problems.push('LINK_SIGNING_KEY must be at least 32 characters');
  }
  if (config.hubspotClientId !== undefined && config.hubspotClientSecret === undefined) {
    problems.push('HUBSPOT_CLIENT_SECRET is required when HUBSPOT_CLIENT_ID is set');
  }
  if (config.salesforceClientId !== undefined && config.salesforceClientSecret === undefined) {
    problems.push('SALESFORCE_CLIENT_SECRET is required when SALESFORCE_CLIENT_ID is set');
  }
  if (!/^\d{2,3}\.0$/.test(config.salesforceApiVersion)) {
    problems.push(`SALESFORCE_API_VERSION must look like 62.0 (got "${config.salesforceApiVersion}")`);
  }
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(config.salesforceCallClient)) {
    problems.push('SALESFORCE_CALL_CLIENT must be 1 to 40 letters, digits, "-" or "_"');
  }
  if ((config.postmarkInboundUser === undefined) !== (config.postmarkInboundPassword === undefined)) {
    problems.push('POSTMARK_INBOUND_USER and POSTMARK_INBOUND_PASSWORD must be set together');
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(config.redisPrefix)) {
    problems.push('REDIS_PREFIX must be 1 to 64 letters, digits, "-" or "_"');
  }
  if (nodeEnv === 'production') {
    if (config.tokenEncryptionKey === undefined)
      problems.push('TOKEN_ENCRYPTION_KEY is required in production');
    if (config.linkSigningKey === undefined) problems.push('LINK_SIGNING_KEY is required in production');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function dkimConfig(read: (name: string) => string | undefined, problems: string[]): Config['dkim'] {
  const domainName = read('DKIM_DOMAIN');
  const keySelector = read('DKIM_SELECTOR');
  let privateKey = read('DKIM_PRIVATE_KEY')?.replace(/\\n/g, '\n');
  const keyFile = read('DKIM_PRIVATE_KEY_FILE');
  if (privateKey === undefined && keyFile !== undefined) {
    try {
      privateKey = readFileSync(keyFile, 'utf8');
    } catch {
      problems.push(`DKIM_PRIVATE_KEY_FILE cannot be read (${keyFile})`);
    }
  }
  const set = [domainName, keySelector, privateKey ?? keyFile].filter((v) => v !== undefined).length;
  if (set === 0) return undefined;
  if (domainName === undefined || keySelector === undefined || privateKey === undefined) {
    if (set < 3) problems.push('DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY (or _FILE) go together');
    return undefined;
  }
  if (!privateKey.includes('PRIVATE KEY')) problems.push('DKIM_PRIVATE_KEY must be a PEM private key');
  return { domainName, keySelector, privateKey };
}

export function isKey32(value: string): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32;
}

/** A URL with its password replaced, fit for logs and messages. */
export function redactUrl(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[invalid url]';
  }
}
