import { CroupierError } from '@croupier/shared';
import {
  COMPLIANCE_QUEUE_ROOM,
  watchedPlayerRoom,
  type BackofficeNotice,
  type BackofficeResult,
  type ComplianceQueue,
  type PlayerLiveState,
} from '@croupier/shared/contracts';
import type { Logger } from 'pino';
import { closeAfter, drawReconnectAfterMs } from '../closing.js';
import type { BackofficeConfig, ClosingConfig, SlowConsumerConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import { watchOutgoingBuffer } from '../slow-consumer.js';
import type { BackofficeSocket } from '../socket-types.js';
import type { WalletClient } from '../wallet-client.js';
import { BackofficeRequestError } from './errors.js';
import { parseFlagRequest, parsePlayerRequest, parseResolveRequest } from './requests.js';
import type { RulesClient } from './rules-client.js';

/** Node.js timers fire at once for delays above this (about 24.8 days). */
const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;

export interface BackofficeConnectionDependencies {
  brand: string;
  config: BackofficeConfig;
  wallet: WalletClient;
  rules: RulesClient;
  slowConsumer: SlowConsumerConfig;
  closing: ClosingConfig;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Aborted when the gateway closes, cancelling wallet and rules requests still running. */
  shutdownSignal: AbortSignal;
}

/** Request handlers of one connection, bound to its socket, signal and logger. */
interface ConnectionContext {
  socket: BackofficeSocket;
  signal: AbortSignal;
  dependencies: BackofficeConnectionDependencies;
  logger: Logger;
}

/**
 * Sets up one authenticated staff connection. It announces the session and
 * puts compliance officers in the compliance queue room with a fresh queue.
 * It serves the watch and flag requests, disconnects when the staff token
 * expires and watches the outgoing buffer for a slow reader.
 */
export function handleBackofficeConnection(socket: BackofficeSocket, dependencies: BackofficeConnectionDependencies): void {
  const { staffId, username, role, expiresAt } = socket.data;
  const logger = dependencies.logger.child({ socketId: socket.id, staffId, role });
  const connectionAbort = new AbortController();
  const abortOnShutdown = (): void => connectionAbort.abort();
  if (dependencies.shutdownSignal.aborted) connectionAbort.abort();
  else dependencies.shutdownSignal.addEventListener('abort', abortOnShutdown, { once: true });
  const context: ConnectionContext = { socket, signal: connectionAbort.signal, dependencies, logger };

  const expiryTimer = setTimeout(
    () => void closeWithBackofficeNotice(context, 'GATEWAY_SESSION_EXPIRED', 'the staff session has expired; sign in again'),
    Math.min(TIMER_DELAY_MS_MAX, Math.max(0, expiresAt.getTime() - Date.now())),
  );
  const stopWatchingBuffer = watchOutgoingBuffer(socket, dependencies.slowConsumer, (size) => {
    dependencies.metrics.slowConsumerDisconnects.inc();
    logger.warn({ bufferedPackets: size.packets, bufferedBytes: size.bytes }, 'outgoing buffer passed its limit, disconnecting the staff socket');
    void closeWithBackofficeNotice(context, 'GATEWAY_SLOW_CONSUMER', 'the connection fell behind the live updates; reconnect for a fresh state');
  });

  socket.on('player:watch', (request, ack) => respond(context, 'player:watch', ack, () => watchPlayer(context, request)));
  socket.on('player:unwatch', (request, ack) => respond(context, 'player:unwatch', ack, () => unwatchPlayer(context, request)));
  socket.on('queue:refresh', (ack) => respond(context, 'queue:refresh', ack, () => readQueue(context)));
  socket.on('flag:review', (request, ack) =>
    respond(context, 'flag:review', ack, async () => {
      const { flagId } = parseFlagRequest(request);
      const flag = await dependencies.rules.reviewFlag(socket.data.token, flagId, context.signal);
      logger.info({ flagId, status: flag.status }, 'staff member took a flag into review');
      return flag;
    }),
  );
  socket.on('flag:resolve', (request, ack) =>
    respond(context, 'flag:resolve', ack, async () => {
      const { flagId, note } = parseResolveRequest(request);
      const flag = await dependencies.rules.resolveFlag(socket.data.token, flagId, note, context.signal);
      logger.info({ flagId, status: flag.status }, 'staff member resolved a flag');
      return flag;
    }),
  );
  socket.on('disconnect', (reason) => {
    dependencies.shutdownSignal.removeEventListener('abort', abortOnShutdown);
    connectionAbort.abort();
    clearTimeout(expiryTimer);
    stopWatchingBuffer();
    logger.info({ reason }, 'staff member disconnected');
  });

  logger.info({ username, expiresAt }, 'staff member connected');
  socket.emit('session:ready', {
    staffId,
    username,
    role,
    brand: dependencies.brand,
    expiresAt: expiresAt.toISOString(),
    canWatchQueue: role === 'compliance_officer',
  });
  if (role === 'compliance_officer') void sendInitialQueue(context);
}

/**
 * Joins the queue room before reading the queue, so a change committed
 * during the read arrives as a push. The page applies such pushes on top of
 * the snapshot when they are newer than its entries.
 */
async function sendInitialQueue(context: ConnectionContext): Promise<void> {
  const { socket, logger } = context;
  await socket.join(COMPLIANCE_QUEUE_ROOM);
  try {
    const queue = await readQueue(context);
    if (socket.connected) socket.emit('queue:snapshot', queue);
  } catch (error) {
    if (context.signal.aborted) return;
    const requestError = toRequestError(error, logger);
    logger.warn({ err: error, code: requestError.code }, 'compliance queue could not be read on connect');
    if (socket.connected) socket.emit('queue:unavailable', requestError.toJSON());
  }
}

async function readQueue(context: ConnectionContext): Promise<ComplianceQueue> {
  const { socket, dependencies } = context;
  if (socket.data.role !== 'compliance_officer') {
    throw new BackofficeRequestError(
      'BACKOFFICE_ERR_FORBIDDEN',
      `the compliance queue is for compliance officers; ${socket.data.username} is signed in as ${socket.data.role}`,
    );
  }
  const flags = await dependencies.rules.listQueue(socket.data.token, context.signal);
  return { flags, takenAt: new Date().toISOString() };
}

/**
 * Joins the player's watch room before reading, for the same reason as the
 * queue, then reads balance and transactions from the wallet and
 * interventions and flags from the rules service at once. A failed read
 * leaves the room again unless the socket was already watching the player.
 */
async function watchPlayer(context: ConnectionContext, request: unknown): Promise<PlayerLiveState> {
  const { socket, dependencies, signal, logger } = context;
  const { playerId } = parsePlayerRequest(request);
  const room = watchedPlayerRoom(playerId);
  const wasWatching = socket.rooms.has(room);
  if (!wasWatching && countWatchedPlayers(socket) >= dependencies.config.watchedPlayersMax) {
    throw new BackofficeRequestError(
      'BACKOFFICE_ERR_WATCH_LIMIT',
      `this connection already watches ${dependencies.config.watchedPlayersMax} players; unwatch one first`,
    );
  }

  await socket.join(room);
  try {
    const { token } = socket.data;
    const [balance, transactions, interventions, flags] = await Promise.all([
      dependencies.wallet.fetchSnapshot(playerId, signal),
      dependencies.wallet.fetchTransactions(playerId, dependencies.config.transactionsLimit, signal),
      dependencies.rules.listInterventions(token, playerId, dependencies.config.interventionsLimit, signal),
      dependencies.rules.listPlayerFlags(token, playerId, signal),
    ]);
    logger.info({ playerId }, 'staff member watches a player');
    return { playerId, balance, transactions, interventions, flags };
  } catch (error) {
    if (!wasWatching) await socket.leave(room);
    throw error;
  }
}

async function unwatchPlayer(context: ConnectionContext, request: unknown): Promise<{ playerId: string }> {
  const { playerId } = parsePlayerRequest(request);
  await context.socket.leave(watchedPlayerRoom(playerId));
  return { playerId };
}

function countWatchedPlayers(socket: BackofficeSocket): number {
  const prefix = watchedPlayerRoom('');
  let count = 0;
  for (const room of socket.rooms) if (room.startsWith(prefix)) count += 1;
  return count;
}

/** Runs one request and acknowledges its value or its error code; counts and logs the outcome. */
function respond<T>(
  context: ConnectionContext,
  requestName: string,
  ack: ((result: BackofficeResult<T>) => void) | undefined,
  run: () => Promise<T>,
): void {
  const { logger, dependencies } = context;
  if (typeof ack !== 'function') {
    logger.debug({ request: requestName }, 'ignoring a back office request without an acknowledgement callback');
    return;
  }

  run().then(
    (value) => {
      dependencies.metrics.backofficeRequests.inc({ request: requestName, outcome: 'ok' });
      ack({ ok: true, value });
    },
    (error: unknown) => {
      const requestError = toRequestError(error, logger);
      dependencies.metrics.backofficeRequests.inc({ request: requestName, outcome: requestError.code });
      if (!context.signal.aborted) {
        logger.info({ request: requestName, code: requestError.code, reason: requestError.message }, 'back office request failed');
      }
      ack({ ok: false, error: requestError.toJSON() });
    },
  );
}

/** Maps wallet and unexpected errors to back office codes; rules errors already carry one. */
function toRequestError(error: unknown, logger: Logger): BackofficeRequestError {
  if (error instanceof BackofficeRequestError) return error;
  if (error instanceof CroupierError) {
    if (error.code === 'GATEWAY_ERR_CLOSING') return new BackofficeRequestError('BACKOFFICE_ERR_CLOSING', error.message);
    if (error.details?.upstreamStatus === 404) {
      return new BackofficeRequestError('BACKOFFICE_ERR_PLAYER_NOT_FOUND', 'the wallet has no player with this id');
    }
    return new BackofficeRequestError('BACKOFFICE_ERR_WALLET_UNAVAILABLE', error.message);
  }
  logger.error({ err: error }, 'back office request failed unexpectedly');
  return new BackofficeRequestError('BACKOFFICE_ERR_INTERNAL', 'the gateway failed to handle the request; see its logs');
}

function closeWithBackofficeNotice(context: ConnectionContext, code: BackofficeNotice['code'], message: string): Promise<void> {
  const { socket, dependencies } = context;
  const reconnectAfterMs = code === 'GATEWAY_SESSION_EXPIRED' ? 0 : drawReconnectAfterMs(dependencies.closing);
  const notice: BackofficeNotice = { code, message, reconnectAfterMs };
  return closeAfter(socket, () => socket.emit('server:notice', notice), dependencies.closing.graceMs);
}

/** Sends every staff socket of this replica away with GATEWAY_DRAINING; resolves when all have closed. */
export async function drainBackoffice(
  sockets: Iterable<BackofficeSocket>,
  closing: ClosingConfig,
  metrics: GatewayMetrics,
): Promise<void> {
  const closings = [...sockets].map((socket) => {
    metrics.drainDisconnects.inc();
    const notice: BackofficeNotice = {
      code: 'GATEWAY_DRAINING',
      message: 'this gateway replica is shutting down; reconnect to reach another one',
      reconnectAfterMs: drawReconnectAfterMs(closing),
    };
    return closeAfter(socket, () => socket.emit('server:notice', notice), closing.graceMs);
  });
  await Promise.all(closings);
}
