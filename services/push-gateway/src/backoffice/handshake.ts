import { StaffTokenError, verifyStaffToken, type StaffTokenErrorCode } from '@croupier/shared';
import type { BackofficeHandshakeErrorCode } from '@croupier/shared/contracts';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics.js';
import { HandshakeError, type BackofficeSocket, type BackofficeSocketData } from '../socket-types.js';

/** Longer tokens are rejected before verification; a real staff token is a few hundred bytes. */
const TOKEN_LENGTH_MAX = 4096;

const TOKEN_ERROR_CODES: Readonly<Record<StaffTokenErrorCode, BackofficeHandshakeErrorCode>> = {
  TOKEN_INVALID: 'GATEWAY_ERR_TOKEN_INVALID',
  TOKEN_EXPIRED: 'GATEWAY_ERR_TOKEN_EXPIRED',
  BRAND_MISMATCH: 'GATEWAY_ERR_BRAND_MISMATCH',
};

export interface StaffHandshakeDependencies {
  brand: string;
  staffTokenSecret: string;
  /** Returns true while the gateway drains, so new handshakes are rejected with GATEWAY_ERR_DRAINING. */
  isDraining: () => boolean;
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * Creates the `/backoffice` namespace middleware. It verifies `auth.token` as
 * a staff token of this brand and stores the staff member, their role and the
 * token in `socket.data`. A rejection reaches the client as `connect_error`
 * whose `data` is `{ code }`, with the codes of the player namespace.
 */
export function createStaffHandshakeMiddleware(dependencies: StaffHandshakeDependencies) {
  return (socket: BackofficeSocket, next: (error?: Error) => void): void => {
    authenticate(socket, dependencies).then(
      (data) => {
        Object.assign(socket.data, data);
        next();
      },
      (error: unknown) => {
        const handshakeError =
          error instanceof HandshakeError ? error : new HandshakeError('GATEWAY_ERR_TOKEN_INVALID', 'handshake failed');
        dependencies.metrics.backofficeHandshakeFailures.inc({ code: handshakeError.data.code });
        dependencies.logger.info(
          { socketId: socket.id, code: handshakeError.data.code, reason: handshakeError.message, address: socket.handshake.address },
          'staff handshake rejected',
        );
        next(handshakeError);
      },
    );
  };
}

async function authenticate(socket: BackofficeSocket, dependencies: StaffHandshakeDependencies): Promise<BackofficeSocketData> {
  if (dependencies.isDraining()) {
    throw new HandshakeError('GATEWAY_ERR_DRAINING', 'this gateway replica is shutting down; retry to reach another one');
  }

  const token = readToken(socket.handshake.auth);
  try {
    const claims = await verifyStaffToken(dependencies.staffTokenSecret, token, dependencies.brand);
    return { staffId: claims.staffId, username: claims.username, role: claims.role, token, expiresAt: claims.expiresAt };
  } catch (error) {
    if (error instanceof StaffTokenError) throw new HandshakeError(TOKEN_ERROR_CODES[error.code], error.message);
    throw error;
  }
}

function readToken(auth: unknown): string {
  const token = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
  if (token === undefined || token === null || token === '') {
    throw new HandshakeError('GATEWAY_ERR_TOKEN_MISSING', 'auth.token is missing; sign in and pass the staff token in the handshake');
  }
  if (typeof token !== 'string' || token.length > TOKEN_LENGTH_MAX) {
    throw new HandshakeError('GATEWAY_ERR_TOKEN_INVALID', `auth.token must be a string of at most ${TOKEN_LENGTH_MAX} characters`);
  }
  return token;
}
