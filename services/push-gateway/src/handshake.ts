import { PlayerTokenError, verifyPlayerToken, type PlayerTokenErrorCode } from '@croupier/shared';
import type { HandshakeErrorCode } from '@croupier/shared/contracts';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics.js';
import { HandshakeError, type PlayerSocket } from './socket-types.js';

/** Longer tokens are rejected before verification; a real player token is a few hundred bytes. */
const TOKEN_LENGTH_MAX = 4096;

const TOKEN_ERROR_CODES: Readonly<Record<PlayerTokenErrorCode, HandshakeErrorCode>> = {
  TOKEN_INVALID: 'GATEWAY_ERR_TOKEN_INVALID',
  TOKEN_EXPIRED: 'GATEWAY_ERR_TOKEN_EXPIRED',
  BRAND_MISMATCH: 'GATEWAY_ERR_BRAND_MISMATCH',
};

export interface HandshakeDependencies {
  brand: string;
  playerTokenSecret: string;
  /** Returns the code to reject every new handshake with, or undefined to accept them. */
  admissionBlock: () => HandshakeErrorCode | undefined;
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * Creates the `/player` namespace middleware. It rejects new connections while
 * the gateway drains or the wallet is unavailable, then verifies `auth.token`
 * and stores the player id in `socket.data`. A rejection reaches the client
 * as `connect_error` whose `data` is `{ code }`.
 */
export function createHandshakeMiddleware(dependencies: HandshakeDependencies) {
  return (socket: PlayerSocket, next: (error?: Error) => void): void => {
    authenticate(socket, dependencies).then(
      (playerId) => {
        socket.data.playerId = playerId;
        next();
      },
      (error: unknown) => {
        const handshakeError =
          error instanceof HandshakeError ? error : new HandshakeError('GATEWAY_ERR_TOKEN_INVALID', 'handshake failed');
        dependencies.metrics.handshakeFailures.inc({ code: handshakeError.data.code });
        dependencies.logger.debug(
          { socketId: socket.id, code: handshakeError.data.code, reason: handshakeError.message },
          'player handshake rejected',
        );
        next(handshakeError);
      },
    );
  };
}

async function authenticate(socket: PlayerSocket, dependencies: HandshakeDependencies): Promise<string> {
  const blockCode = dependencies.admissionBlock();
  if (blockCode !== undefined) {
    throw new HandshakeError(blockCode, 'this gateway does not accept new connections right now; retry later');
  }

  const token = readToken(socket.handshake.auth);
  try {
    const claims = await verifyPlayerToken(dependencies.playerTokenSecret, token, dependencies.brand);
    return claims.playerId;
  } catch (error) {
    if (error instanceof PlayerTokenError) throw new HandshakeError(TOKEN_ERROR_CODES[error.code], error.message);
    throw error;
  }
}

function readToken(auth: unknown): string {
  const token = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
  if (token === undefined || token === null || token === '') {
    throw new HandshakeError('GATEWAY_ERR_TOKEN_MISSING', 'auth.token is missing; pass the player token in the handshake');
  }
  if (typeof token !== 'string' || token.length > TOKEN_LENGTH_MAX) {
    throw new HandshakeError('GATEWAY_ERR_TOKEN_INVALID', `auth.token must be a string of at most ${TOKEN_LENGTH_MAX} characters`);
  }
  return token;
}
