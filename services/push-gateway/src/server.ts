import { setMaxListeners } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { BusConnection, BusConsumer, brandRedisPrefix, socketIoAdapterKey } from '@croupier/shared';
import { BACKOFFICE_NAMESPACE, PLAYER_NAMESPACE, type HandshakeErrorCode } from '@croupier/shared/contracts';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import { drainBackoffice, handleBackofficeConnection } from './backoffice/connection.js';
import { createStaffHandshakeMiddleware } from './backoffice/handshake.js';
import { createBackofficeRoutes, loadPageFiles, type RouteHandler } from './backoffice/http.js';
import { RulesClient } from './backoffice/rules-client.js';
import type { BackofficeConfig, GatewayConfig } from './config.js';
import { RedisDeduplicator } from './deduplicator.js';
import { drainPlayers } from './drain.js';
import { BUS_BINDING_PATTERNS, createEventPusher } from './event-pusher.js';
import { createHandshakeMiddleware } from './handshake.js';
import { createHttpRoutes } from './http-routes.js';
import { countConsumeOutcome, createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { handlePlayerConnection } from './player-connection.js';
import { connectRedis, withLoggedPublishFailures, type GatewayRedis } from './redis.js';
import { resendSnapshots } from './resync.js';
import type { BackofficeNamespace, GatewayServer, PlayerNamespace } from './socket-types.js';
import { WalletClient } from './wallet-client.js';

export { readGatewayConfig, type GatewayConfig } from './config.js';

/** Service name of the gateway on the bus. Its queue is `push-gateway.events`. */
export const BUS_SERVICE_NAME = 'push-gateway';
export { BUS_BINDING_PATTERNS } from './event-pusher.js';

const BUS_STARTUP_TIMEOUT_MS = 15_000;
/** Players send only `balance:refresh` and staff short requests (a resolution note is at most 4000 characters), so engine.io rejects larger messages. */
const CLIENT_MESSAGE_BYTES_MAX = 16 * 1024;

export interface GatewayHandle {
  /** Bound port, useful when the config requested port 0. */
  port: number;
  /** Base URL of the gateway, for example `http://127.0.0.1:8080`. */
  url: string;
  readonly isDraining: boolean;
  /** Drains players, stops consuming and closes everything. Safe to call more than once. */
  drain(): Promise<void>;
  /** Closes at once without notices. Safe to call more than once. */
  close(): Promise<void>;
}

export { brandRedisPrefix } from '@croupier/shared';

interface GatewayParts {
  config: GatewayConfig;
  logger: Logger;
  redis: GatewayRedis;
  httpServer: HttpServer;
  io: GatewayServer;
  namespace: PlayerNamespace;
  backoffice: BackofficeNamespace | undefined;
  bus: BusConnection;
  consumer: BusConsumer;
  shutdown: AbortController;
}

/**
 * Starts one replica of a brand's push gateway: Redis, the socket.io server
 * with the Redis adapter, the bus consumer, and HTTP probes and metrics on the
 * same port. Resolves once it listens, with Redis and the bus connected.
 */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<GatewayHandle> {
  const backofficeRoutes = config.backoffice === undefined ? undefined : await loadBackofficeRoutes(config.backoffice, logger);
  const redis = await connectRedis(config.redisUrl, config.brand, logger);
  const shutdown = new AbortController();
  // Every connected player listens on this signal, so the default bound of 10 listeners would warn.
  setMaxListeners(0, shutdown.signal);
  const wallet = new WalletClient(config.wallet, logger.child({ component: 'wallet-client' }));
  let isDraining = false;
  let walletUnavailableUntilMs = 0;

  // The closures below read `namespace`, `backoffice` and `bus`, which are
  // declared further down, only when a request or scrape arrives, after listen().
  const metrics = createGatewayMetrics(
    config.brand,
    () => namespace.sockets.size,
    () => backoffice?.sockets.size ?? 0,
  );
  // The probe routes are registered before socket.io attaches, because socket.io
  // passes only requests outside its own path to the listeners that existed then.
  const httpServer = createServer(
    createHttpRoutes(
      { isDraining: () => isDraining, isRedisReady: redis.isReady, isBusConnected: () => bus.isConnected },
      metrics.registry,
      logger,
      backofficeRoutes,
    ),
  );
  const io: GatewayServer = new Server(httpServer, {
    // The back office page loads the browser client from /socket.io/socket.io.js.
    serveClient: config.backoffice !== undefined,
    maxHttpBufferSize: CLIENT_MESSAGE_BYTES_MAX,
    adapter: createAdapter(withLoggedPublishFailures(redis.adapterPub, logger), redis.adapterSub, {
      key: socketIoAdapterKey(config.brand),
    }),
  });
  const namespace: PlayerNamespace = io.of(PLAYER_NAMESPACE);

  const admissionBlock = (): HandshakeErrorCode | undefined => {
    if (isDraining) return 'GATEWAY_ERR_DRAINING';
    if (Date.now() < walletUnavailableUntilMs) return 'GATEWAY_ERR_SNAPSHOT_UNAVAILABLE';
    return undefined;
  };
  namespace.use(createHandshakeMiddleware({ ...config, admissionBlock, metrics, logger }));
  namespace.on('connection', (socket) => {
    handlePlayerConnection(socket, {
      wallet,
      slowConsumer: config.slowConsumer,
      closing: config.closing,
      metrics,
      logger,
      shutdownSignal: shutdown.signal,
      onSnapshotUnavailable: () => {
        walletUnavailableUntilMs = Date.now() + config.wallet.unavailableHoldMs;
      },
    });
  });

  const backoffice =
    config.backoffice === undefined
      ? undefined
      : openBackofficeNamespace(io, config, config.backoffice, {
          wallet,
          metrics,
          logger: logger.child({ namespace: BACKOFFICE_NAMESPACE }),
          shutdownSignal: shutdown.signal,
          isDraining: () => isDraining,
        });

  const { bus, consumer } = createBusConsumer(config, redis, namespace, backoffice, metrics, logger);
  const parts: GatewayParts = { config, logger, redis, httpServer, io, namespace, backoffice, bus, consumer, shutdown };
  try {
    await startBus(bus, consumer);
  } catch (error) {
    await closeParts(parts);
    throw error;
  }

  resyncAfterRedisReconnect(redis, () => resendSnapshots(namespace, wallet, shutdown.signal, logger));
  const port = await listen(httpServer, config.host, config.port);
  logger.info({ host: config.host, port }, 'push gateway listening');

  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= closeParts(parts));
  const drain = (): Promise<void> => {
    isDraining = true;
    draining ??= drainParts(parts, metrics).finally(close);
    return draining;
  };

  return {
    port,
    url: `http://${config.host}:${port}`,
    get isDraining() {
      return isDraining;
    },
    drain,
    close,
  };
}

async function loadBackofficeRoutes(backoffice: BackofficeConfig, logger: Logger): Promise<RouteHandler> {
  const files = await loadPageFiles();
  return createBackofficeRoutes(files, backoffice.rules, logger.child({ component: 'backoffice-http' }));
}

interface BackofficeNamespaceDependencies {
  wallet: WalletClient;
  metrics: GatewayMetrics;
  logger: Logger;
  shutdownSignal: AbortSignal;
  isDraining: () => boolean;
}

function openBackofficeNamespace(
  io: GatewayServer,
  config: GatewayConfig,
  backofficeConfig: BackofficeConfig,
  dependencies: BackofficeNamespaceDependencies,
): BackofficeNamespace {
  // The server is typed with the player's events; this namespace has its own.
  const backoffice = io.of(BACKOFFICE_NAMESPACE) as unknown as BackofficeNamespace;
  const rules = new RulesClient(backofficeConfig.rules);

  backoffice.use(
    createStaffHandshakeMiddleware({
      brand: config.brand,
      staffTokenSecret: backofficeConfig.staffTokenSecret,
      isDraining: dependencies.isDraining,
      metrics: dependencies.metrics,
      logger: dependencies.logger,
    }),
  );
  backoffice.on('connection', (socket) => {
    handleBackofficeConnection(socket, {
      brand: config.brand,
      config: backofficeConfig,
      wallet: dependencies.wallet,
      rules,
      slowConsumer: config.slowConsumer,
      closing: config.closing,
      metrics: dependencies.metrics,
      logger: dependencies.logger,
      shutdownSignal: dependencies.shutdownSignal,
    });
  });
  return backoffice;
}

function createBusConsumer(
  config: GatewayConfig,
  redis: GatewayRedis,
  namespace: PlayerNamespace,
  backoffice: BackofficeNamespace | undefined,
  metrics: GatewayMetrics,
  logger: Logger,
): { bus: BusConnection; consumer: BusConsumer } {
  const busLogger = logger.child({ component: 'bus' });
  const bus = new BusConnection({ url: config.amqpUrl, connectionName: `push-gateway-${config.brand}`, logger: busLogger });
  const deduplicator = new RedisDeduplicator(
    redis.commands,
    `${brandRedisPrefix(config.brand)}push-gateway:`,
    config.dedupTtlSeconds,
  );
  const consumer = new BusConsumer(bus, {
    service: BUS_SERVICE_NAME,
    bindingPatterns: BUS_BINDING_PATTERNS,
    prefetch: config.busPrefetch,
    deduplicator,
    handler: createEventPusher({ brand: config.brand, players: namespace, backoffice, deduplicator, metrics }),
    logger: busLogger,
    onOutcome: (outcome) => countConsumeOutcome(metrics, outcome),
  });
  return { bus, consumer };
}

async function startBus(bus: BusConnection, consumer: BusConsumer): Promise<void> {
  consumer.start();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`bus was not connected within ${BUS_STARTUP_TIMEOUT_MS} ms; check AMQP_URL and the brand vhost`));
    }, BUS_STARTUP_TIMEOUT_MS);
  });
  try {
    await Promise.race([bus.start(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `resync` each time the adapter's subscriber comes back after losing Redis, one resync at a time. */
function resyncAfterRedisReconnect(redis: GatewayRedis, resync: () => Promise<void>): void {
  let hasLostConnection = false;
  let running: Promise<void> | undefined;

  redis.adapterSub.on('close', () => {
    hasLostConnection = true;
  });
  const runIfNeeded = (): void => {
    // A reconnect during a running resync is caught up when that resync ends.
    if (!hasLostConnection || running !== undefined || redis.adapterSub.status !== 'ready') return;
    hasLostConnection = false;
    running = resync().finally(() => {
      running = undefined;
      runIfNeeded();
    });
  };
  redis.adapterSub.on('ready', runIfNeeded);
}

function listen(httpServer: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve((httpServer.address() as AddressInfo).port);
    });
  });
}

/**
 * Drain order: stop consuming first, so unacknowledged deliveries return to
 * the queue for the other replicas while players are still being moved, then
 * send players and staff away. Readiness already reports 503 and new handshakes are
 * rejected with GATEWAY_ERR_DRAINING. The HTTP listener stays open until the
 * end so probes can read that.
 */
async function drainParts(parts: GatewayParts, metrics: GatewayMetrics): Promise<void> {
  const { config, logger } = parts;
  logger.info({ periodMs: config.drain.periodMs }, 'draining the gateway');

  await parts.consumer.stop();
  await Promise.all([
    drainPlayers(parts.namespace, config.drain.periodMs, config.closing, metrics, logger),
    parts.backoffice === undefined ? undefined : drainBackoffice(parts.backoffice.sockets.values(), config.closing, metrics),
  ]);
}

async function closeParts(parts: GatewayParts): Promise<void> {
  const { logger } = parts;
  parts.shutdown.abort();

  await parts.consumer.stop();
  await parts.io.close();
  parts.httpServer.closeAllConnections();
  await parts.bus.close();
  await parts.redis.close();
  logger.info('push gateway closed');
}
