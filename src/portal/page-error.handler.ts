import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error.ts';
import { attr, html, type SafeHtml } from './html.template.ts';
import { messagePage } from './page.layout.ts';

/** The page a person can go back to from a refused post: the form itself, never a foreign URL. */
function formPath(request: FastifyRequest): string | null {
  const path = request.url.split('?')[0] ?? '';
  if (/^\/p\/[A-Za-z0-9._-]+$/.test(path)) return path;
  if (path === '/register') return '/register';
  return null;
}

function describe(
  request: FastifyRequest,
  error: AppError,
): { title: string; paragraphs: (string | SafeHtml)[] } {
  const reason = (error.details as { reason?: string } | undefined)?.reason;
  switch (error.status) {
    case 401:
      return {
        title: 'This link does not work',
        paragraphs: [error.message, 'Ask the person who sent it to you for a new link.'],
      };
    case 403: {
      if (!reason) {
        return { title: 'This link is for another page', paragraphs: [error.message] };
      }
      const back = formPath(request);
      return {
        title: 'Your form could not be sent',
        paragraphs: [
          error.message,
          'For your safety we only accept this form from the page that showed it, in the same browser.',
          back
            ? html`<a${attr('href', back)}>Open the form again</a>, fill it in and send it once more.`
            : 'Open the form again, fill it in and send it once more.',
        ],
      };
    }
    case 404:
      return { title: 'Page not found', paragraphs: [error.message] };
    default:
      return { title: 'We could not do that', paragraphs: [error.message] };
  }
}

/**
 * Errors on the partner pages are pages too: a person who opened an expired link from an email
 * should read what happened and what to do, not a JSON body. Same statuses as the API.
 */
export function pageErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  let status: number;
  let content: { title: string; paragraphs: (string | SafeHtml)[] };
  if (error instanceof AppError) {
    status = error.status;
    if (status >= 500) request.log.error({ err: error }, error.message);
    content = describe(request, error);
  } else if (error.validation) {
    // A malformed token or id in the path is simply not a page of ours.
    if (error.validationContext === 'params') {
      status = 404;
      content = { title: 'Page not found', paragraphs: ['Check that you copied the whole link.'] };
    } else {
      status = 400;
      content = {
        title: 'We could not read that',
        paragraphs: ['Go back, check what you entered and try again.'],
      };
    }
  } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    status = error.statusCode;
    content = {
      title: status === 413 ? 'That was too much to send' : 'We could not read that',
      paragraphs: ['Go back, check what you entered and try again.'],
    };
  } else {
    request.log.error({ err: error }, 'unhandled error on a partner page');
    status = 500;
    content = {
      title: 'Something went wrong',
      paragraphs: [`Something went wrong on our side. Please try again later (reference ${request.id}).`],
    };
  }
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .send(messagePage(content.title, content.paragraphs));
}
