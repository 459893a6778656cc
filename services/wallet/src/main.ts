import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BusConnection, BusPublisher, ConfigError, createLogger, redactUrl } from '@croupier/shared';
import { buildWalletApp } from './app.js';
import { ApiKeyVerifier } from './auth/api-key.js';
import { loadWalletConfig, type WalletConfig } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { LedgerStore } from './ledger/store.js';
import { createWalletMetrics } from './metrics.js';
import { OutboxCleanup } from './outbox/cleanup.js';
import { OutboxRelay } from './outbox/relay.js';

/**
 * Process entry of one brand's wallet: read the config, migrate the brand
 * database, start the bus and the outbox relay, listen, and stop gracefully
 * on SIGTERM or SIGINT.
 */
async function main(): Promise<void> {
  let config: WalletConfig;
  try {
    config = loadWalletConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }

  const logger = createLogger({ service: 'wallet', brand: config.brand, level: config.logLevel });
  const producerId = randomUUID();
  logger.info({ producerId, database: redactUrl(config.databaseUrl), bus: redactUrl(config.amqpUrl) }, 'wallet starting');

  const pool = createPool(
    {
      databaseUrl: config.databaseUrl,
      maxConnections: config.pgPoolSize,
      connectionTimeoutMs: config.pgConnectionTimeoutMs,
      statementTimeoutMs: config.pgStatementTimeoutMs,
      applicationName: 'wallet',
    },
    logger,
  );
  await migrate(pool, logger);

  const connection = new BusConnection({ url: config.amqpUrl, connectionName: `wallet ${config.brand}`, logger });
  const publisher = new BusPublisher(connection, logger);
  const metrics = createWalletMetrics(config.brand, async () => {
    try {
      const result = await pool.query<{ count: string }>('SELECT count(*) AS count FROM outbox WHERE sent_at IS NULL');
      return Number(result.rows[0]?.count ?? 0);
    } catch (error) {
      logger.warn({ err: error }, 'counting the outbox backlog for /metrics failed');
      return undefined;
    }
  });
  const relay = new OutboxRelay({
    databaseUrl: config.databaseUrl,
    publisher,
    connection,
    batchSize: config.outboxBatchSize,
    logger: logger.child({ component: 'outbox-relay' }),
    metrics,
  });
  const cleanup = new OutboxCleanup({ pool, logger, retentionSeconds: config.outboxRetentionSeconds });

  const store = new LedgerStore({ pool, brand: config.brand, producerId, commitListener: relay });
  const app = await buildWalletApp({
    store,
    commitListener: relay,
    metrics,
    logger,
    providerSecrets: config.providerSecrets,
    paymentSecret: config.paymentSecret,
    apiKeys: new ApiKeyVerifier(config.apiKeys),
    playerTokenSecret: config.playerTokenSecret,
    playerTokenTtlSeconds: config.playerTokenTtlSeconds,
    bodyLimitBytes: config.bodyLimitBytes,
    limitCoolingOffSeconds: config.limitCoolingOffSeconds,
    isBusReady: () => publisher.isReady,
  });

  // The wallet serves while the broker is down: events wait in the outbox
  // and the relay publishes them once the connection is up.
  relay.start();
  void connection.start();
  cleanup.start();
  await app.listen({ host: config.httpHost, port: config.httpPort });

  const stop = onceAsync(async (signal: string) => {
    logger.info({ signal }, 'wallet stopping');
    const forceExit = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'graceful stop timed out, exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    forceExit.unref();

    // Order: stop taking requests and finish those in flight, publish what
    // they committed, then close the bus and the database.
    await app.close();
    await relay.stop(config.shutdownTimeoutMs / 2);
    await cleanup.stop();
    await connection.close();
    await pool.end();
    logger.info('wallet stopped');
  });
  process.once('SIGTERM', () => void stop('SIGTERM').catch((error) => exitOnError(logger, error)));
  process.once('SIGINT', () => void stop('SIGINT').catch((error) => exitOnError(logger, error)));
}

function onceAsync<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let running: Promise<void> | undefined;
  return (...args: A) => (running ??= fn(...args));
}

function exitOnError(logger: Logger, error: unknown): void {
  logger.fatal({ err: error }, 'wallet failed');
  process.exit(1);
}

main().catch((error: unknown) => {
  console.error('wallet failed to start:', error);
  process.exit(1);
});
