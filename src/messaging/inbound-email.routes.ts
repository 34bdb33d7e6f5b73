import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';
import { AppError } from '../errors/app-error.ts';
import { rememberWebhookToken, storeInboundMessage } from './inbound-message.repository.ts';
import type { InboundChannel, InboundEnvelope } from './inbound-message.table.ts';
import { type PostmarkInbound, rawFromPostmark } from './inbound-postmark.ts';

/** How far a Mailgun signature's timestamp may be from our clock before it counts as a replay. */
export const MAILGUN_MAX_SKEW_MS = 15 * 60 * 1000;

const Received = Type.Object({
  received: Type.Boolean(),
  duplicate: Type.Boolean(),
  id: Type.String({ format: 'uuid' }),
});
const Errors = {
  400: { $ref: 'ErrorResponse#' },
  401: { $ref: 'ErrorResponse#' },
  413: { $ref: 'ErrorResponse#' },
  415: { $ref: 'ErrorResponse#' },
  503: { $ref: 'ErrorResponse#' },
};

/** Compares secrets in constant time, whatever their lengths (both sides are hashed first). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Mailgun's webhook signature: HMAC-SHA256 of timestamp + token with the webhook signing key. */
export function mailgunSignatureValid(
  key: string,
  timestamp: string,
  token: string,
  signature: string,
): boolean {
  const expected = createHmac('sha256', key)
    .update(timestamp + token)
    .digest('hex');
  return (
    /^[0-9a-f]{64}$/i.test(signature) &&
    timingSafeEqual(Buffer.from(expected), Buffer.from(signature.toLowerCase()))
  );
}

function basicAuth(request: FastifyRequest): { user: string; password: string } | null {
  const header = request.headers.authorization;
  if (!header?.startsWith('Basic ')) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Inbound email over HTTP: raw RFC 5322 with a bearer secret, Mailgun's MIME route (HMAC signature)
 * and Postmark's inbound webhook (basic auth). Each request is authenticated before its body is
 * looked at (Mailgun signs inside the form, so there the signature is the first thing read); the raw
 * message is stored with its processing enqueued, then acknowledged. Processing happens in a job.
 */
export const inboundEmailRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  const { config } = deps;
  const maxBytes = config.inboundMaxBytes;
  // Provider form bodies carry the message plus its parsed copies; leave room for them.
  const formLimit = maxBytes * 3 + 64 * 1024;

  app.addContentTypeParser(
    ['message/rfc822', 'application/octet-stream'],
    { parseAs: 'buffer', bodyLimit: maxBytes },
    (_req, body, done) => done(null, body),
  );
  app.addContentTypeParser(
    ['multipart/form-data', 'application/x-www-form-urlencoded'],
    { parseAs: 'buffer', bodyLimit: formLimit },
    (_req, body, done) => done(null, body),
  );

  const store = async (
    channel: InboundChannel,
    raw: Buffer,
    envelope: InboundEnvelope,
    replay?: { provider: string; token: string },
  ) => {
    if (raw.length === 0) throw new AppError('bad_request', 'The message is empty');
    if (raw.length > maxBytes)
      throw new AppError('payload_too_large', `The message is larger than ${maxBytes} bytes`);
    const result = await deps.db.transaction().execute(async (tx) => {
      if (replay && !(await rememberWebhookToken(tx, replay.provider, replay.token)))
        throw new AppError('unauthorized', 'This webhook token was already used (replay)');
      return storeInboundMessage(tx, { channel, raw, envelope });
    });
    return { received: true, duplicate: result.duplicate, id: result.id };
  };

  app.post(
    '/inbound/email',
    {
      bodyLimit: maxBytes,
      onRequest: async (request) => {
        const secret = config.inboundEmailSecret;
        if (!secret)
          throw new AppError('not_configured', 'Inbound email is not configured (INBOUND_EMAIL_SECRET)');
        const header = request.headers.authorization ?? '';
        const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
        if (!given || !sameSecret(given, secret))
          throw new AppError('unauthorized', 'A valid bearer secret is required');
      },
      schema: {
        tags: ['inbound'],
        summary:
          'Receive one raw email (Content-Type: message/rfc822), authenticated with INBOUND_EMAIL_SECRET',
        response: { 202: Received, ...Errors },
      },
    },
    async (request, reply) => {
      if (!Buffer.isBuffer(request.body))
        throw new AppError('unsupported_media_type', 'Send the raw message as message/rfc822');
      const envelope: InboundEnvelope = {
        remoteAddress: request.ip,
        ...(typeof request.headers['x-envelope-from'] === 'string'
          ? { mailFrom: request.headers['x-envelope-from'] }
          : {}),
      };
      return reply.status(202).send(await store('http', request.body, envelope));
    },
  );

  app.post(
    '/inbound/mailgun',
    {
      bodyLimit: formLimit,
      onRequest: async () => {
        if (!config.mailgunSigningKey)
          throw new AppError('not_configured', 'Mailgun inbound is not configured (MAILGUN_SIGNING_KEY)');
      },
      schema: {
        tags: ['inbound'],
        summary:
          'Mailgun route to a URL ending in `mime`: form fields with `body-mime`, signed with the webhook signing key',
        response: { 200: Received, ...Errors },
      },
    },
    async (request) => {
      if (!Buffer.isBuffer(request.body))
        throw new AppError('unsupported_media_type', 'Mailgun posts form data');
      let form: FormData;
      try {
        form = await new Response(request.body, {
          headers: { 'content-type': String(request.headers['content-type']) },
        }).formData();
      } catch {
        throw new AppError('bad_request', 'The form body could not be read');
      }
      const field = (name: string) => {
        const value = form.get(name);
        return typeof value === 'string' ? value : value ? '' : undefined;
      };
      const timestamp = field('timestamp') ?? '';
      const token = field('token') ?? '';
      const signature = field('signature') ?? '';
      if (
        !timestamp ||
        !token ||
        !signature ||
        !mailgunSignatureValid(config.mailgunSigningKey!, timestamp, token, signature)
      )
        throw new AppError('unauthorized', 'The Mailgun signature is missing or wrong');
      const at = Number(timestamp) * 1000;
      if (!Number.isFinite(at) || Math.abs(deps.services.clock.now().getTime() - at) > MAILGUN_MAX_SKEW_MS)
        throw new AppError('unauthorized', 'The Mailgun signature is too old (replay window)');
      const mime = form.get('body-mime');
      const raw =
        typeof mime === 'string'
          ? Buffer.from(mime, 'utf8')
          : mime
            ? Buffer.from(await mime.arrayBuffer())
            : null;
      if (!raw)
        throw new AppError(
          'bad_request',
          'No body-mime field: point the Mailgun route at a URL ending in "mime"',
        );
      const recipient = field('recipient');
      return store(
        'mailgun',
        raw,
        {
          mailFrom: field('sender') ?? null,
          rcptTo: recipient ? recipient.split(/\s*,\s*/) : [],
          providerEventId: token,
          remoteAddress: request.ip,
        },
        { provider: 'mailgun', token },
      );
    },
  );

  app.post(
    '/inbound/postmark',
    {
      bodyLimit: formLimit,
      onRequest: async (request) => {
        const { postmarkInboundUser: user, postmarkInboundPassword: password } = config;
        if (!user || !password)
          throw new AppError('not_configured', 'Postmark inbound is not configured (POSTMARK_INBOUND_USER)');
        const given = basicAuth(request);
        // Both compared, always: which half was wrong must not show in the timing.
        const userOk = sameSecret(given?.user ?? '', user);
        const passwordOk = sameSecret(given?.password ?? '', password);
        if (!given || !userOk || !passwordOk)
          throw new AppError('unauthorized', 'Valid basic-auth credentials are required');
      },
      schema: {
        tags: ['inbound'],
        summary:
          "Postmark's inbound webhook (JSON), authenticated with the basic-auth credentials in its URL",
        body: Type.Object({ MessageID: Type.Optional(Type.String()) }, { additionalProperties: true }),
        response: { 200: Received, ...Errors },
      },
    },
    async (request) => {
      const payload = request.body as PostmarkInbound;
      const raw = await rawFromPostmark(payload);
      return store('postmark', raw, {
        rcptTo: payload.OriginalRecipient ? [payload.OriginalRecipient] : [],
        providerEventId: payload.MessageID ?? null,
        remoteAddress: request.ip,
      });
    },
  );
};
