import { Writable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../src/app.ts';
import { loggerOptions } from '../src/logger.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import {
  buildTestApp,
  clearRedisPrefix,
  createTestRuntime,
  type TestRuntime,
} from './helpers/test-runtime.ts';

/** A destination that keeps every line pino writes. */
function memoryStream() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, any>),
  };
}

describe('loggerOptions', () => {
  function logOne(fields: Record<string, unknown>) {
    const out = memoryStream();
    const logger = pino(loggerOptions({ logLevel: 'info' }), out.stream);
    logger.info(fields, 'a line');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    return { line: lines[0]!, text: out.text() };
  }

  it('logs at the configured level with the service name', () => {
    const out = memoryStream();
    const logger = pino(loggerOptions({ logLevel: 'warn' }), out.stream);
    logger.info('hidden');
    logger.warn('shown');
    const lines = out.lines();
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
    expect(lines[0]?.service).toBe('partnerloop');
  });

  it('redacts the authorization and cookie request headers', () => {
    const { line, text } = logOne({
      req: {
        method: 'GET',
        headers: {
          authorization: 'Bearer sk_live_HEADER',
          cookie: 'session=COOKIE_VALUE',
          accept: 'application/json',
        },
      },
    });
    expect(line.req.headers.authorization).toBe('[redacted]');
    expect(line.req.headers.cookie).toBe('[redacted]');
    expect(line.req.headers.accept).toBe('application/json');
    expect(line.req.method).toBe('GET');
    expect(text).not.toContain('sk_live_HEADER');
    expect(text).not.toContain('COOKIE_VALUE');
  });

  it('redacts set-cookie on responses', () => {
    const { line, text } = logOne({
      res: { statusCode: 200, headers: { 'set-cookie': 'session=SETCOOKIE' } },
    });
    expect(line.res.headers['set-cookie']).toBe('[redacted]');
    expect(line.res.statusCode).toBe(200);
    expect(text).not.toContain('SETCOOKIE');
  });

  for (const field of ['password', 'token', 'accessToken', 'refreshToken', 'clientSecret', 'databaseUrl']) {
    it(`redacts a field named ${field} nested one level deep`, () => {
      const secret = `value-of-${field}-${Math.random().toString(36).slice(2)}`;
      const { line, text } = logOne({ context: { [field]: secret, harmless: 'kept' } });
      expect(line.context[field]).toBe('[redacted]');
      expect(line.context.harmless).toBe('kept');
      expect(text).not.toContain(secret);
    });
  }

  it('redacts secret fields at the top level and two levels deep', () => {
    const { line, text } = logOne({
      token: 'tok-TOP',
      tenant: { oauth: { refreshToken: 'rt-DEEP' } },
      headers: { authorization: 'Bearer hdr-BARE' },
    });
    expect(line.token).toBe('[redacted]');
    expect(line.tenant.oauth.refreshToken).toBe('[redacted]');
    expect(line.headers.authorization).toBe('[redacted]');
    for (const secret of ['tok-TOP', 'rt-DEEP', 'hdr-BARE']) expect(text).not.toContain(secret);
  });

  it('redacts secret fields under any parent name', () => {
    const { line, text } = logOne({
      user: { id: 7, password: 'pw-USER' },
      connection: { databaseUrl: 'postgres://u:pw-DB@host/db' },
      oauth: { accessToken: 'at-OAUTH', refreshToken: 'rt-OAUTH', clientSecret: 'cs-OAUTH' },
    });
    expect(line.user).toEqual({ id: 7, password: '[redacted]' });
    expect(line.connection).toEqual({ databaseUrl: '[redacted]' });
    expect(line.oauth).toEqual({
      accessToken: '[redacted]',
      refreshToken: '[redacted]',
      clientSecret: '[redacted]',
    });
    for (const secret of ['pw-USER', 'pw-DB', 'at-OAUTH', 'rt-OAUTH', 'cs-OAUTH']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('request logging', () => {
  let database: TestDatabase;
  let runtime: TestRuntime;
  const out = memoryStream();

  const echoRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (app) => {
    app.get('/test/crash', async () => {
      throw new Error('boom');
    });
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const logger = pino(loggerOptions({ logLevel: 'info' }), out.stream);
    runtime = await createTestRuntime(database, { logger, env: { LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    await runtime?.close();
    if (runtime) await clearRedisPrefix(runtime.redisPrefix);
    await database?.destroy();
  });

  it('never writes a bearer token to the log', async () => {
    const app = await buildTestApp(runtime, { extraRoutes: [echoRoutes] });
    try {
      const headers = {
        authorization: 'Bearer sk_live_SECRET',
        cookie: 'session=sk_live_SECRET',
        'x-request-id': 'log-test-1',
      };
      const ok = await app.inject({ method: 'GET', url: '/healthz', headers });
      expect(ok.statusCode).toBe(200);
      const missing = await app.inject({ method: 'GET', url: '/nowhere', headers });
      expect(missing.statusCode).toBe(404);
      const crash = await app.inject({
        method: 'GET',
        url: '/test/crash',
        headers: { ...headers, 'x-request-id': 'log-test-2' },
      });
      expect(crash.statusCode).toBe(500);
    } finally {
      await app.close();
    }

    // The requests were logged (so the absence of the token below means something)...
    const lines = out.lines();
    const forRequest = lines.filter((l) => l.reqId === 'log-test-1');
    expect(forRequest.length).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => l.reqId === 'log-test-2' && l.level >= 50)).toBe(true);
    // ...and the token never was.
    expect(out.text()).not.toContain('sk_live_SECRET');
  });
});
