import type { FastifyError, FastifyInstance } from 'fastify';
import { CroupierError } from '@croupier/shared';
import { errorResponseBody, RETRY_AFTER_SECONDS, walletError } from '../errors.js';
import { toUnavailableError } from '../db/errors.js';

/** Maps any error thrown while handling a request to a registry error. */
export function toWalletError(error: unknown, bodyLimitBytes: number, contentType: string | undefined): CroupierError {
  if (error instanceof CroupierError) return error;

  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation !== undefined) {
    return walletError('WALLET_ERR_VALIDATION', { reason: fastifyError.message });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return walletError('WALLET_ERR_BODY_TOO_LARGE', { limitBytes: bodyLimitBytes });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return walletError('WALLET_ERR_UNSUPPORTED_MEDIA_TYPE', { contentType: contentType ?? '(none)' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return walletError('WALLET_ERR_MALFORMED_JSON', { reason: fastifyError.message });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return walletError('WALLET_ERR_VALIDATION', { reason: 'Content-Length does not match the body' });
  }
  return toUnavailableError(error) ?? walletError('WALLET_ERR_INTERNAL');
}

/** Installs the error and not-found handlers, which send `{ "error": { code, message, ...details } }`. */
export function installErrorHandlers(app: FastifyInstance, bodyLimitBytes: number): void {
  app.setErrorHandler((error, request, reply) => {
    const walletErr = toWalletError(error, bodyLimitBytes, request.headers['content-type']);
    if (walletErr.statusCode >= 500) {
      request.log.error({ err: error, code: walletErr.code }, 'request failed');
    } else {
      request.log.info({ code: walletErr.code, statusCode: walletErr.statusCode }, 'request rejected');
    }
    if (walletErr.statusCode === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    return reply.code(walletErr.statusCode).send(errorResponseBody(walletErr));
  });

  app.setNotFoundHandler((request, reply) => {
    const walletErr = walletError('WALLET_ERR_ROUTE_NOT_FOUND', { method: request.method, url: request.url.split('?')[0] });
    return reply.code(404).send(errorResponseBody(walletErr));
  });
}
