import { backoffDelayMs } from '@croupier/shared';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Reconnect delays of every Redis client: jittered, doubling from 50 ms up to 2 s, forever. */
const RECONNECT_BACKOFF = { initialDelayMs: 50, maxDelayMs: 2000 };

/**
 * Commands issued while Redis is away wait in ioredis's offline queue and fail
 * after this many reconnect attempts (about 30 s with the backoff above), so a
 * caller such as the deduplicator blocks for a bounded time and then fails.
 */
const RETRIES_PER_REQUEST_MAX = 20;

const STARTUP_TIMEOUT_MS = 10_000;
/** Time QUIT gets to complete before the socket is closed without it, as when Redis is down. */
const QUIT_TIMEOUT_MS = 1000;

export type RedisRole = 'commands' | 'adapter-pub' | 'adapter-sub';

export interface GatewayRedis {
  commands: Redis;
  adapterPub: Redis;
  adapterSub: Redis;
  isReady(): boolean;
  /** Resolves once every client is ready, or rejects after `timeoutMs`. */
  waitUntilReady(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the gateway's three Redis connections: one for commands, and the
 * publisher and subscriber of the socket.io adapter. ioredis reconnects with
 * the backoff above and re-subscribes the subscriber's channels and patterns
 * itself (`autoResubscribe`, on by default), which is what brings the
 * adapter's cross-replica broadcasts back after a Redis restart.
 */
export async function connectRedis(url: string, brand: string, logger: Logger): Promise<GatewayRedis> {
  const clients = {
    commands: createClient(url, `croupier-push-gateway-${brand}`, 'commands', logger),
    adapterPub: createClient(url, `croupier-push-gateway-${brand}-pub`, 'adapter-pub', logger),
    adapterSub: createClient(url, `croupier-push-gateway-${brand}-sub`, 'adapter-sub', logger),
  };
  const all = Object.values(clients);

  const isReady = (): boolean => all.every((client) => client.status === 'ready');
  const waitUntilReady = (timeoutMs: number): Promise<void> => waitForReady(all, timeoutMs);
  const close = async (): Promise<void> => {
    await Promise.allSettled(all.map((client) => withTimeout(client.quit(), QUIT_TIMEOUT_MS)));
    for (const client of all) client.disconnect();
  };

  try {
    await waitUntilReady(STARTUP_TIMEOUT_MS);
  } catch (error) {
    await close();
    throw error;
  }
  return { ...clients, isReady, waitUntilReady, close };
}

function createClient(url: string, connectionName: string, role: RedisRole, parentLogger: Logger): Redis {
  const logger = parentLogger.child({ redisClient: role });
  let hasBeenReady = false;

  const client = new Redis(url, {
    connectionName,
    maxRetriesPerRequest: RETRIES_PER_REQUEST_MAX,
    retryStrategy: (attempt) => backoffDelayMs(attempt, RECONNECT_BACKOFF),
  });

  client.on('error', (error: Error) => {
    logger.warn({ err: error }, 'redis connection error');
  });
  client.on('reconnecting', (delayMs: number) => {
    logger.warn({ delayMs }, 'redis connection lost, reconnecting');
  });
  client.on('ready', () => {
    if (hasBeenReady) logger.info('redis reconnected');
    hasBeenReady = true;
  });
  return client;
}

function waitForReady(clients: Redis[], timeoutMs: number): Promise<void> {
  const pending = clients.filter((client) => client.status !== 'ready');
  if (pending.length === 0) return Promise.resolve();

  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      if (clients.every((client) => client.status === 'ready')) finish();
    };
    const timer = setTimeout(() => {
      finish(new Error(`redis was not ready within ${timeoutMs} ms; check REDIS_URL and that Redis is running`));
    }, timeoutMs);
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      for (const client of pending) client.off('ready', onReady);
      if (error === undefined) resolve();
      else reject(error);
    };
    for (const client of pending) client.on('ready', onReady);
  });
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Wraps the adapter's publisher so that a failed PUBLISH is logged. The
 * adapter (version 8.3) calls `publish` without handling the returned promise,
 * and a rejection there would be unhandled and end the process.
 */
export function withLoggedPublishFailures(client: Redis, logger: Logger): Redis {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'publish') {
        return (channel: string, message: string | Buffer) =>
          target.publish(channel, message).catch((error: unknown) => {
            logger.warn({ err: error, channel }, 'redis publish of a broadcast failed; players on other replicas miss it');
            return 0;
          });
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
