import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { ConfigError, isKey32 } from './config.ts';

export interface Secrets {
  tokenEncryptionKey: Buffer;
  linkSigningKey: Buffer;
}

interface SecretsFile {
  tokenEncryptionKey?: string;
  linkSigningKey?: string;
}

export const SECRETS_FILE = 'secrets.json';

/**
 * Secrets come from the environment. Outside production, a secret nobody set is generated once
 * into DATA_DIR (and kept, so tokens encrypted yesterday still decrypt today), with a warning.
 * In production, config.ts has already refused to start without them.
 */
export function resolveSecrets(config: Config, warn: (message: string) => void): Secrets {
  if (config.tokenEncryptionKey !== undefined && config.linkSigningKey !== undefined) {
    return fromStrings(config.tokenEncryptionKey, config.linkSigningKey);
  }
  if (config.nodeEnv === 'production') {
    throw new ConfigError(['TOKEN_ENCRYPTION_KEY and LINK_SIGNING_KEY are required in production']);
  }
  const file = path.join(config.dataDir, SECRETS_FILE);
  const stored = readSecretsFile(file);
  let changed = false;
  if (config.tokenEncryptionKey === undefined && stored.tokenEncryptionKey === undefined) {
    stored.tokenEncryptionKey = randomBytes(32).toString('base64');
    changed = true;
    warn(`TOKEN_ENCRYPTION_KEY is not set: generated one into ${file}. Set it explicitly in production.`);
  }
  if (config.linkSigningKey === undefined && stored.linkSigningKey === undefined) {
    stored.linkSigningKey = randomBytes(48).toString('base64url');
    changed = true;
    warn(`LINK_SIGNING_KEY is not set: generated one into ${file}. Set it explicitly in production.`);
  }
  if (changed) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  const tokenKey = config.tokenEncryptionKey ?? stored.tokenEncryptionKey;
  const linkKey = config.linkSigningKey ?? stored.linkSigningKey;
  if (tokenKey === undefined || !isKey32(tokenKey)) {
    throw new ConfigError([
      `${file}: tokenEncryptionKey is not 32 base64-encoded bytes; fix or delete the file`,
    ]);
  }
  if (linkKey === undefined) throw new ConfigError([`${file}: linkSigningKey is missing`]);
  return fromStrings(tokenKey, linkKey);
}

function fromStrings(tokenKey: string, linkKey: string): Secrets {
  return {
    tokenEncryptionKey: Buffer.from(tokenKey, 'base64'),
    linkSigningKey: Buffer.from(linkKey, 'utf8'),
  };
}

function readSecretsFile(file: string): SecretsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    return JSON.parse(text) as SecretsFile;
  } catch {
    throw new ConfigError([
      `${file} is not valid JSON; fix or delete it (tokens encrypted with it will be lost)`,
    ]);
  }
}
