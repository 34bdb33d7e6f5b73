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
  };

  if (config.tokenEncryptionKey !== undefined && !isKey32(config.tokenEncryptionKey)) {
    problems.push('TOKEN_ENCRYPTION_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  }
  if (config.linkSigningKey !== undefined && config.linkSigningKey.length < 32) {
    problems.push('LINK_SIGNING_KEY must be at least 32 characters');
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
