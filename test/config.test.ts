import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Config, ConfigError, loadConfig } from '../src/config.ts';
import { resolveSecrets, SECRETS_FILE } from '../src/secrets.ts';

/** The ConfigError loadConfig throws for `env`; fails the test when it does not throw one. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const validTokenKey = () => randomBytes(32).toString('base64');
const validLinkKey = () => randomBytes(32).toString('hex');

describe('loadConfig', () => {
  it('falls back to the documented defaults when the environment is empty', () => {
    const config = loadConfig({});
    expect(config.nodeEnv).toBe('development');
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(path.isAbsolute(config.dataDir)).toBe(true);
    expect(config.logLevel).toBe('info');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.tokenEncryptionKey).toBeUndefined();
    expect(config.linkSigningKey).toBeUndefined();
  });

  it('treats blank variables as unset', () => {
    const config = loadConfig({ PORT: '  ', PUBLIC_URL: '', LOG_LEVEL: ' ', DATABASE_URL: '' });
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.logLevel).toBe('info');
    expect(config.databaseUrl).toBeUndefined();
  });

  it('derives PUBLIC_URL from PORT when PUBLIC_URL is unset', () => {
    const config = loadConfig({ PORT: '4123' });
    expect(config.port).toBe(4123);
    expect(config.publicUrl).toBe('http://localhost:4123');
  });

  it('keeps an explicit PUBLIC_URL regardless of PORT', () => {
    expect(loadConfig({ PORT: '4123', PUBLIC_URL: 'https://partners.example.com' }).publicUrl).toBe(
      'https://partners.example.com',
    );
  });

  it('trims trailing slashes from PUBLIC_URL', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://partners.example.com/' }).publicUrl).toBe(
      'https://partners.example.com',
    );
    expect(loadConfig({ PUBLIC_URL: 'https://example.com/loop///' }).publicUrl).toBe(
      'https://example.com/loop',
    );
  });

  it('resolves DATA_DIR to an absolute path', () => {
    expect(loadConfig({ DATA_DIR: 'some/relative/dir' }).dataDir).toBe(path.resolve('some/relative/dir'));
  });

  it('defaults LOG_LEVEL to warn under NODE_ENV=test', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).logLevel).toBe('warn');
  });

  it('accepts well-formed values', () => {
    const tokenKey = validTokenKey();
    const linkKey = validLinkKey();
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      DATABASE_URL: 'postgresql://u:p@db.internal:5432/loop',
      REDIS_URL: 'rediss://cache.internal:6380',
      REDIS_PREFIX: 'loop_prod-1',
      LOG_LEVEL: 'debug',
      TOKEN_ENCRYPTION_KEY: tokenKey,
      LINK_SIGNING_KEY: linkKey,
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      port: 8080,
      databaseUrl: 'postgresql://u:p@db.internal:5432/loop',
      redisUrl: 'rediss://cache.internal:6380',
      redisPrefix: 'loop_prod-1',
      logLevel: 'debug',
      tokenEncryptionKey: tokenKey,
      linkSigningKey: linkKey,
    });
  });

  describe('rejects a bad variable with a ConfigError naming it', () => {
    const cases: [string, Record<string, string>][] = [
      ['PORT', { PORT: 'abc' }],
      ['PORT', { PORT: '70000' }],
      ['PORT', { PORT: '-1' }],
      ['PORT', { PORT: '3000.5' }],
      ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
      ['REDIS_URL', { REDIS_URL: 'not a url' }],
      ['PUBLIC_URL', { PUBLIC_URL: 'ftp://example.com' }],
      ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
      ['NODE_ENV', { NODE_ENV: 'staging' }],
      ['TOKEN_ENCRYPTION_KEY', { TOKEN_ENCRYPTION_KEY: 'short' }],
      ['TOKEN_ENCRYPTION_KEY', { TOKEN_ENCRYPTION_KEY: randomBytes(16).toString('base64') }],
      ['LINK_SIGNING_KEY', { LINK_SIGNING_KEY: 'x'.repeat(31) }],
      ['REDIS_PREFIX', { REDIS_PREFIX: 'partner:loop' }],
      ['JOB_CONCURRENCY', { JOB_CONCURRENCY: '0' }],
    ];
    for (const [variable, env] of cases) {
      it(`${variable}=${Object.values(env)[0]}`, () => {
        const error = configError(env);
        expect(error.problems).toHaveLength(1);
        expect(error.problems[0]).toContain(variable);
        expect(error.message).toContain(variable);
      });
    }
  });

  it('accepts a LINK_SIGNING_KEY of exactly 32 characters', () => {
    expect(loadConfig({ LINK_SIGNING_KEY: 'x'.repeat(32) }).linkSigningKey).toBe('x'.repeat(32));
  });

  it('reports every bad variable at once', () => {
    const error = configError({
      PORT: 'abc',
      DATABASE_URL: 'mysql://x',
      LOG_LEVEL: 'loud',
      NODE_ENV: 'staging',
      REDIS_PREFIX: 'a:b',
    });
    expect(error.problems).toHaveLength(5);
    for (const variable of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'NODE_ENV', 'REDIS_PREFIX']) {
      expect(error.problems.some((p) => p.includes(variable))).toBe(true);
      expect(error.message).toContain(variable);
    }
  });

  it('never echoes the password of a bad DATABASE_URL', () => {
    const password = 'hunter2-Sup3rSecret';
    for (const url of [
      `mysql://admin:${password}@db.example.com/loop`,
      `postgres://admin:${password}@db.example.com:notaport/loop`,
      `postgres://admin:${password}@`,
    ]) {
      const error = configError({ DATABASE_URL: url });
      expect(error.message).toContain('DATABASE_URL');
      expect(error.message).not.toContain(password);
      expect(error.problems.join('\n')).not.toContain(password);
    }
  });

  it('refuses to start in production without TOKEN_ENCRYPTION_KEY and LINK_SIGNING_KEY', () => {
    const both = configError({ NODE_ENV: 'production' });
    expect(both.message).toContain('TOKEN_ENCRYPTION_KEY');
    expect(both.message).toContain('LINK_SIGNING_KEY');

    const onlyLink = configError({ NODE_ENV: 'production', TOKEN_ENCRYPTION_KEY: validTokenKey() });
    expect(onlyLink.message).toContain('LINK_SIGNING_KEY');
    expect(onlyLink.message).not.toContain('TOKEN_ENCRYPTION_KEY');

    const onlyToken = configError({ NODE_ENV: 'production', LINK_SIGNING_KEY: validLinkKey() });
    expect(onlyToken.message).toContain('TOKEN_ENCRYPTION_KEY');
    expect(onlyToken.message).not.toContain('LINK_SIGNING_KEY');
  });
});

describe('resolveSecrets', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function tempDataDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'pl-secrets-'));
    dirs.push(dir);
    // A directory that does not exist yet: resolveSecrets must create it.
    return path.join(dir, 'data');
  }

  function configFor(dataDir: string, env: Record<string, string> = {}): Config {
    return loadConfig({ DATA_DIR: dataDir, ...env });
  }

  function collect() {
    const warnings: string[] = [];
    return { warnings, warn: (message: string) => warnings.push(message) };
  }

  it('generates both secrets once into DATA_DIR/secrets.json, readable only by the owner', () => {
    const dataDir = tempDataDir();
    const { warnings, warn } = collect();
    const secrets = resolveSecrets(configFor(dataDir), warn);

    expect(secrets.tokenEncryptionKey).toHaveLength(32);
    expect(secrets.linkSigningKey.length).toBeGreaterThanOrEqual(32);

    const file = path.join(dataDir, SECRETS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(Buffer.from(stored.tokenEncryptionKey!, 'base64').equals(secrets.tokenEncryptionKey)).toBe(true);
    expect(Buffer.from(stored.linkSigningKey!, 'utf8').equals(secrets.linkSigningKey)).toBe(true);

    expect(warnings).toHaveLength(2);
    expect(warnings.filter((w) => w.includes('TOKEN_ENCRYPTION_KEY'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('LINK_SIGNING_KEY'))).toHaveLength(1);
    for (const warning of warnings) {
      expect(warning).toContain(file);
      expect(warning).not.toContain(stored.tokenEncryptionKey);
      expect(warning).not.toContain(stored.linkSigningKey);
    }
  });

  it('returns the same secrets on the next call, without warning', () => {
    const dataDir = tempDataDir();
    const first = resolveSecrets(configFor(dataDir), () => {});
    const file = path.join(dataDir, SECRETS_FILE);
    const before = readFileSync(file, 'utf8');

    const { warnings, warn } = collect();
    const second = resolveSecrets(configFor(dataDir), warn);
    expect(warnings).toEqual([]);
    expect(second.tokenEncryptionKey.equals(first.tokenEncryptionKey)).toBe(true);
    expect(second.linkSigningKey.equals(first.linkSigningKey)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('generates different secrets for different data directories', () => {
    const a = resolveSecrets(configFor(tempDataDir()), () => {});
    const b = resolveSecrets(configFor(tempDataDir()), () => {});
    expect(a.tokenEncryptionKey.equals(b.tokenEncryptionKey)).toBe(false);
    expect(a.linkSigningKey.equals(b.linkSigningKey)).toBe(false);
  });

  it('prefers secrets from the environment over the file', () => {
    const dataDir = tempDataDir();
    const generated = resolveSecrets(configFor(dataDir), () => {});
    const tokenKey = validTokenKey();
    const linkKey = validLinkKey();

    const { warnings, warn } = collect();
    const fromEnv = resolveSecrets(
      configFor(dataDir, { TOKEN_ENCRYPTION_KEY: tokenKey, LINK_SIGNING_KEY: linkKey }),
      warn,
    );
    expect(warnings).toEqual([]);
    expect(fromEnv.tokenEncryptionKey.equals(Buffer.from(tokenKey, 'base64'))).toBe(true);
    expect(fromEnv.linkSigningKey.equals(Buffer.from(linkKey, 'utf8'))).toBe(true);
    expect(fromEnv.tokenEncryptionKey.equals(generated.tokenEncryptionKey)).toBe(false);
    expect(fromEnv.linkSigningKey.equals(generated.linkSigningKey)).toBe(false);
  });

  it('takes one secret from the environment and the other from the file', () => {
    const dataDir = tempDataDir();
    const generated = resolveSecrets(configFor(dataDir), () => {});
    const tokenKey = validTokenKey();
    const { warnings, warn } = collect();
    const mixed = resolveSecrets(configFor(dataDir, { TOKEN_ENCRYPTION_KEY: tokenKey }), warn);
    expect(warnings).toEqual([]);
    expect(mixed.tokenEncryptionKey.equals(Buffer.from(tokenKey, 'base64'))).toBe(true);
    expect(mixed.linkSigningKey.equals(generated.linkSigningKey)).toBe(true);
  });

  it('generates only the secret the environment lacks, and warns only about that one', () => {
    const dataDir = tempDataDir();
    const linkKey = validLinkKey();
    const { warnings, warn } = collect();
    const secrets = resolveSecrets(configFor(dataDir, { LINK_SIGNING_KEY: linkKey }), warn);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('TOKEN_ENCRYPTION_KEY');
    expect(warnings[0]).not.toContain('LINK_SIGNING_KEY');
    expect(secrets.linkSigningKey.equals(Buffer.from(linkKey, 'utf8'))).toBe(true);
    const stored = JSON.parse(readFileSync(path.join(dataDir, SECRETS_FILE), 'utf8')) as Record<
      string,
      string
    >;
    expect(stored.linkSigningKey).toBeUndefined();
    expect(Buffer.from(stored.tokenEncryptionKey!, 'base64').equals(secrets.tokenEncryptionKey)).toBe(true);
  });

  it('writes no file when the environment provides both secrets', () => {
    const dataDir = tempDataDir();
    const { warnings, warn } = collect();
    resolveSecrets(
      configFor(dataDir, { TOKEN_ENCRYPTION_KEY: validTokenKey(), LINK_SIGNING_KEY: validLinkKey() }),
      warn,
    );
    expect(warnings).toEqual([]);
    expect(existsSync(path.join(dataDir, SECRETS_FILE))).toBe(false);
  });

  it('refuses to generate secrets in production', () => {
    const dataDir = tempDataDir();
    const config: Config = { ...configFor(dataDir), nodeEnv: 'production' };
    expect(() => resolveSecrets(config, () => {})).toThrow(ConfigError);
    expect(() => resolveSecrets(config, () => {})).toThrow(/TOKEN_ENCRYPTION_KEY.*LINK_SIGNING_KEY/);
    expect(existsSync(path.join(dataDir, SECRETS_FILE))).toBe(false);
  });

  it('reports a corrupt secrets file instead of replacing it', () => {
    const dataDir = tempDataDir();
    resolveSecrets(configFor(dataDir), () => {});
    const file = path.join(dataDir, SECRETS_FILE);
    writeFileSync(file, '{not json');
    expect(() => resolveSecrets(configFor(dataDir), () => {})).toThrow(ConfigError);
    expect(readFileSync(file, 'utf8')).toBe('{not json');
  });
});
