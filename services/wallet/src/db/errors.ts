import type { CroupierError } from '@croupier/shared';
import { walletError } from '../errors.js';

/** SQLSTATE classes and codes that mean "try again later" rather than "bug". */
const TRANSIENT_SQLSTATE_PREFIXES = ['08', '53', '57'];
const TRANSIENT_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * Maps a failure to reach or use the database to WALLET_ERR_UNAVAILABLE (503):
 * pool wait timeouts, refused or broken connections, statement timeouts and
 * server shutdowns. Returns undefined for any other error.
 */
export function toUnavailableError(error: unknown): CroupierError | undefined {
  const candidate = error as { code?: unknown; message?: unknown };
  const code = typeof candidate.code === 'string' ? candidate.code : '';
  const message = typeof candidate.message === 'string' ? candidate.message : '';

  if (message.includes('timeout exceeded when trying to connect')) {
    return walletError('WALLET_ERR_UNAVAILABLE', { reason: 'no database connection became free in time' });
  }
  if (TRANSIENT_SOCKET_CODES.has(code) || message.includes('Connection terminated')) {
    return walletError('WALLET_ERR_UNAVAILABLE', { reason: 'the database connection failed' });
  }
  if (/^[0-9A-Z]{5}$/.test(code) && TRANSIENT_SQLSTATE_PREFIXES.some((prefix) => code.startsWith(prefix))) {
    return walletError('WALLET_ERR_UNAVAILABLE', { reason: `the database is busy or restarting (SQLSTATE ${code})` });
  }
  return undefined;
}
