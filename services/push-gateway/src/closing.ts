import type { ServerNotice } from '@croupier/shared/contracts';
import type { ClosingConfig } from './config.js';
import type { BackofficeSocket, PlayerSocket } from './socket-types.js';

/** Draws the `reconnectAfterMs` of one notice, so clients sent away together do not return together. */
export function drawReconnectAfterMs(config: ClosingConfig): number {
  const spreadMs = config.reconnectAfterMsMax - config.reconnectAfterMsMin;
  return config.reconnectAfterMsMin + Math.round(Math.random() * spreadMs);
}

/**
 * Sends `notice`, then disconnects the socket. engine.io waits for its write
 * buffer to drain before closing, which never happens for a reader that has
 * stopped, so the transport is closed without the notice after `graceMs`.
 * Resolves once the connection is closed.
 */
export function closeWithNotice(socket: PlayerSocket, notice: ServerNotice, graceMs: number): Promise<void> {
  return closeAfter(socket, () => socket.emit('server:notice', notice), graceMs);
}

/** Calls `emitNotice`, then disconnects the socket of either namespace as `closeWithNotice` does. */
export function closeAfter(socket: PlayerSocket | BackofficeSocket, emitNotice: () => void, graceMs: number): Promise<void> {
  const connection = socket.conn;
  if (connection.readyState === 'closed') return Promise.resolve();

  return new Promise((resolve) => {
    const forceTimer = setTimeout(() => connection.close(true), graceMs);
    connection.once('close', () => {
      clearTimeout(forceTimer);
      resolve();
    });

    emitNotice();
    socket.disconnect(true);
  });
}
