import type { FastifyInstance, FastifyRequest } from 'fastify';
import { walletError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request bytes exactly as received; providers sign these. */
    rawBody: Buffer | undefined;
    /** JSON parse error of the body, reported only after authentication. */
    bodyParseError: string | undefined;
    /** W3C traceparent of this request's work, stored in the events it writes. */
    traceparent: string;
  }
}

/**
 * Replaces the JSON parser with one that keeps the raw bytes for signature
 * checks. A body that is not JSON is not rejected here: routes first
 * authenticate the caller, then call rejectMalformedBody, so an
 * unauthenticated caller learns nothing about how the body was read.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.decorateRequest('rawBody', undefined);
  app.decorateRequest('bodyParseError', undefined);
  app.decorateRequest('traceparent', '');

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (raw.length === 0) {
      request.bodyParseError = 'the body is empty';
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch (error) {
      request.bodyParseError = (error as Error).message;
      done(null, undefined);
    }
  });
}

export function rejectMalformedBody(request: FastifyRequest): void {
  if (request.bodyParseError !== undefined) {
    throw walletError('WALLET_ERR_MALFORMED_JSON', { reason: request.bodyParseError });
  }
}
