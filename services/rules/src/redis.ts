import { backoffDelayMs } from '@croupier/shared';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

const RECONNECT_BACKOFF = { initialDelayMs: 50, maxDelayMs: 2000 };
/** Commands wait in the offline queue for about this many reconnects (roughly 30 s), then fail and the event is requeued. */
const RETRIES_PER_REQUEST_MAX = 20;
const STARTUP_TIMEOUT_MS = 10_000;

/** Opens the service's Redis connection, which reconnects with jittered backoff forever. */
export async function connectRedis(url: string, brand: string, logger: Logger): Promise<Redis> {
  const log = logger.child({ component: 'redis' });
  let hasBeenReady = false;
  const client = new Redis(url, {
    connectionName: `croupier-rules-${brand}`,
    maxRetriesPerRequest: RETRIES_PER_REQUEST_MAX,
    retryStrategy: (attempt) => backoffDelayMs(attempt, RECONNECT_BACKOFF),
  });
  client.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));
  client.on('reconnecting', (delayMs: number) => log.warn({ delayMs }, 'redis connection lost, reconnecting'));
  client.on('ready', () => {
    if (hasBeenReady) log.info('redis reconnected');
    hasBeenReady = true;
  });

  if (client.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.off('ready', onReady);
        client.disconnect();
        reject(new Error(`redis was not ready within ${STARTUP_TIMEOUT_MS} ms; check REDIS_URL and that Redis is running`));
      }, STARTUP_TIMEOUT_MS);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      client.once('ready', onReady);
    });
  }
  return client;
}
