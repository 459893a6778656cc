import type { Logger } from 'pino';
import type { PlayerNamespace } from './socket-types.js';
import type { WalletClient } from './wallet-client.js';

/** Wallet requests in flight at once while resending snapshots, so a resync does not flood the wallet. */
const RESYNC_CONCURRENCY = 8;

/**
 * Sends a fresh snapshot to every player connected to this replica. Called
 * after the adapter's Redis subscriber reconnects: broadcasts published while
 * it was away are lost, and without a resync those players would keep a stale
 * balance until their next change. The client's version check makes a
 * snapshot that is older than what it already has harmless.
 */
export async function resendSnapshots(
  namespace: PlayerNamespace,
  wallet: WalletClient,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const sockets = [...namespace.sockets.values()];
  logger.info({ sockets: sockets.length }, 'resending balance snapshots after the Redis backplane reconnected');

  let next = 0;
  let failures = 0;
  const worker = async (): Promise<void> => {
    while (next < sockets.length && !signal.aborted) {
      const socket = sockets[next];
      next += 1;
      if (socket === undefined || !socket.connected) continue;
      try {
        const snapshot = await wallet.fetchSnapshot(socket.data.playerId, signal);
        if (socket.connected) socket.emit('balance:snapshot', snapshot);
      } catch {
        failures += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RESYNC_CONCURRENCY, sockets.length) }, worker));

  if (failures > 0) logger.warn({ failures }, 'some snapshots could not be resent; those players keep their last balance');
}
