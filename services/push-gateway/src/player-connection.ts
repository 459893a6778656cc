import { CroupierError } from '@croupier/shared';
import { playerRoom, type BalanceSnapshot, type ServerNotice } from '@croupier/shared/contracts';
import type { Logger } from 'pino';
import { closeWithNotice, drawReconnectAfterMs } from './closing.js';
import type { ClosingConfig, SlowConsumerConfig } from './config.js';
import { gatewayErrors } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { watchOutgoingBuffer, type OutgoingBufferSize } from './slow-consumer.js';
import type { PlayerSocket } from './socket-types.js';
import type { WalletClient } from './wallet-client.js';

export interface PlayerConnectionDependencies {
  wallet: WalletClient;
  slowConsumer: SlowConsumerConfig;
  closing: ClosingConfig;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Aborted when the gateway closes, cancelling wallet requests still running. */
  shutdownSignal: AbortSignal;
  /** Called when a snapshot could not be read, so new handshakes are held off for a while. */
  onSnapshotUnavailable: () => void;
}

type RefreshAck = (result: { snapshot?: BalanceSnapshot; error?: string }) => void;

/**
 * Sets up one authenticated player connection: joins the player's room,
 * sends the balance snapshot, serves `balance:refresh` and watches the
 * outgoing buffer for a slow reader.
 */
export function handlePlayerConnection(socket: PlayerSocket, dependencies: PlayerConnectionDependencies): void {
  const playerId = socket.data.playerId;
  const logger = dependencies.logger.child({ socketId: socket.id, playerId, transport: socket.conn.transport.name });
  // Aborted on disconnect or gateway shutdown. A listener removed on disconnect
  // is used instead of AbortSignal.any, because Node.js 20 keeps a reference
  // to every signal combined with the long-lived shutdown signal.
  const connectionAbort = new AbortController();
  const abortOnShutdown = (): void => connectionAbort.abort();
  if (dependencies.shutdownSignal.aborted) connectionAbort.abort();
  else dependencies.shutdownSignal.addEventListener('abort', abortOnShutdown, { once: true });
  const signal = connectionAbort.signal;

  // Join before reading the snapshot: a change committed after the wallet read
  // then reaches this socket as a push, and the client's version check orders
  // the two. Joining after the read could lose such a change until the next one.
  void socket.join(playerRoom(playerId));

  const stopWatching = watchOutgoingBuffer(socket, dependencies.slowConsumer, (size) => {
    void closeSlowConsumer(socket, size, dependencies, logger);
  });
  socket.on('balance:refresh', createRefreshHandler(playerId, signal, dependencies, logger));
  socket.on('disconnect', (reason) => {
    dependencies.shutdownSignal.removeEventListener('abort', abortOnShutdown);
    connectionAbort.abort();
    stopWatching();
    logger.debug({ reason }, 'player disconnected');
  });

  logger.debug('player connected');
  void sendInitialSnapshot(socket, signal, dependencies, logger);
}

async function sendInitialSnapshot(
  socket: PlayerSocket,
  signal: AbortSignal,
  dependencies: PlayerConnectionDependencies,
  logger: Logger,
): Promise<void> {
  try {
    const snapshot = await dependencies.wallet.fetchSnapshot(socket.data.playerId, signal);
    if (socket.connected) socket.emit('balance:snapshot', snapshot);
  } catch (error) {
    if (signal.aborted) return;

    const code = error instanceof CroupierError ? error.code : 'GATEWAY_ERR_WALLET_UNAVAILABLE';
    dependencies.metrics.snapshotFailures.inc({ code });
    dependencies.onSnapshotUnavailable();
    // A player must not stay connected without a balance. The notice asks the
    // client to reconnect later, and until the hold expires its next handshake
    // is rejected with GATEWAY_ERR_SNAPSHOT_UNAVAILABLE.
    logger.warn({ err: error, code }, 'balance snapshot unavailable, disconnecting the player');
    const notice: ServerNotice = {
      code: 'GATEWAY_SNAPSHOT_UNAVAILABLE',
      message: 'the balance could not be read from the wallet; reconnect later',
      reconnectAfterMs: drawReconnectAfterMs(dependencies.closing),
    };
    void closeWithNotice(socket, notice, dependencies.closing.graceMs);
  }
}

function createRefreshHandler(
  playerId: string,
  signal: AbortSignal,
  dependencies: PlayerConnectionDependencies,
  logger: Logger,
): (ack: RefreshAck) => void {
  let isRefreshing = false;

  return (ack) => {
    if (typeof ack !== 'function') {
      logger.debug('ignoring balance:refresh without an acknowledgement callback');
      return;
    }
    if (isRefreshing) {
      ack({ error: gatewayErrors.refreshInProgress().code });
      return;
    }

    isRefreshing = true;
    dependencies.wallet
      .fetchSnapshot(playerId, signal)
      .then(
        (snapshot) => ack({ snapshot }),
        (error: unknown) => {
          const code = error instanceof CroupierError ? error.code : 'GATEWAY_ERR_WALLET_UNAVAILABLE';
          if (!signal.aborted) logger.warn({ err: error, code }, 'balance refresh failed');
          ack({ error: code });
        },
      )
      .finally(() => {
        isRefreshing = false;
      });
  };
}

async function closeSlowConsumer(
  socket: PlayerSocket,
  size: OutgoingBufferSize,
  dependencies: PlayerConnectionDependencies,
  logger: Logger,
): Promise<void> {
  dependencies.metrics.slowConsumerDisconnects.inc();
  logger.warn(
    { bufferedPackets: size.packets, bufferedBytes: size.bytes, limits: dependencies.slowConsumer },
    'outgoing buffer passed its limit, disconnecting the slow consumer',
  );

  await closeWithNotice(
    socket,
    {
      code: 'GATEWAY_SLOW_CONSUMER',
      message: 'the connection fell behind the balance updates; reconnect to receive a fresh snapshot',
      reconnectAfterMs: drawReconnectAfterMs(dependencies.closing),
    },
    dependencies.closing.graceMs,
  );
}
