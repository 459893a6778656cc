import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { BusConnection, BusConsumer, BusPublisher, redactUrl } from '@croupier/shared';
import type { RulesConfig } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { AggregateStore } from './engine/aggregates.js';
import { RulesEngine } from './engine/engine.js';
import { CONSUMED_ROUTING_KEYS } from './engine/measures.js';
import { buildRulesApp } from './http/app.js';
import { countConsumeOutcome, createRulesMetrics, type RulesMetrics } from './metrics.js';
import { EmailRelay } from './outbox/email-relay.js';
import { EventRelay } from './outbox/event-relay.js';
import { connectRedis } from './redis.js';
import { RulesWatcher } from './rules/watcher.js';
import { seedStaff } from './staff/store.js';

export { loadRulesConfig, type RulesConfig } from './config.js';
export { compileRuleFile, RuleFileError } from './rules/load.js';
export { ruleFileJsonSchema } from './rules/schema.js';

/** Bus service name: the queue is `rules.events` with its dead-letter queue `rules.events.dead-letter`. */
export const BUS_SERVICE = 'rules';

export interface RulesServiceHandle {
  app: FastifyInstance;
  /** Bound HTTP port. */
  port: number;
  pool: pg.Pool;
  redis: Redis;
  watcher: RulesWatcher;
  metrics: RulesMetrics;
  eventRelay: EventRelay;
  emailRelay: EmailRelay;
  /** Stops consuming, finishes the events in flight and the outboxes (bounded by the timeout), then closes everything. */
  stop(): Promise<void>;
}

/**
 * Starts one replica: migrations, staff seed, rules and their watch, Redis,
 * the bus consumer and publisher, the outbox relays and the HTTP API. The
 * consumer subscribes only once a valid rule file is loaded, so events wait
 * in the queue instead of passing unevaluated.
 */
export async function startRulesService(config: RulesConfig, logger: Logger): Promise<RulesServiceHandle> {
  logger.info(
    { database: redactUrl(config.databaseUrl), bus: redactUrl(config.amqpUrl), redis: redactUrl(config.redisUrl), rulesFile: config.rulesFile },
    'rules service starting',
  );
  const metrics = createRulesMetrics(config.brand);
  const pool = createPool(config.databaseUrl, config.pgPoolSize, logger);
  await migrate(pool, logger);
  await seedStaff(pool, config.staffSeed, logger);

  let staffTokenSecret = config.staffTokenSecret;
  if (staffTokenSecret === undefined) {
    staffTokenSecret = randomBytes(32).toString('base64url');
    logger.warn('STAFF_TOKEN_SECRET is unset; using a random secret, so tokens fail at the gateway, on other replicas and after a restart');
  }

  const watcher = new RulesWatcher({
    file: config.rulesFile,
    brand: config.brand,
    logger: logger.child({ component: 'rules-watcher' }),
    onLoad: (result, rules) => {
      metrics.ruleLoads.inc({ result });
      metrics.ruleFileValid.set(result === 'failed' ? 0 : 1);
      metrics.rulesLoaded.set(rules?.rules.length ?? 0);
    },
  });
  await watcher.start();

  const redis = await connectRedis(config.redisUrl, config.brand, logger);
  const markerTtlMs = config.dedupTtlSeconds * 1000;
  const store = new AggregateStore(redis, config.brand, markerTtlMs);

  const connection = new BusConnection({ url: config.amqpUrl, connectionName: `rules ${config.brand}`, logger });
  const publisher = new BusPublisher(connection, logger);
  const eventRelay = new EventRelay({
    pool,
    publisher,
    connection,
    batchSize: 200,
    logger: logger.child({ component: 'event-relay' }),
    onPublished: (count) => metrics.outboxPublished.inc(count),
    onFailure: () => metrics.outboxFailures.inc({ outbox: 'events' }),
  });
  const transporter = nodemailer.createTransport(config.smtpUrl);
  const emailRelay = new EmailRelay({
    pool,
    transporter,
    from: config.emailFrom,
    batchSize: 20,
    logger: logger.child({ component: 'email-relay' }),
    onSent: () => metrics.emailsSent.inc(),
    onFailure: () => metrics.outboxFailures.inc({ outbox: 'emails' }),
  });

  const engine = new RulesEngine({
    brand: config.brand,
    pool,
    store,
    watcher,
    metrics,
    complianceEmail: config.complianceEmail,
    maxLatenessMs: config.maxLatenessMs,
    markerTtlMs,
    onRecorded: (recorded) => {
      eventRelay.wake('interventions committed');
      if (recorded.some((intervention) => intervention.sendsEmail)) emailRelay.wake('interventions committed');
    },
  });
  const consumer = new BusConsumer(connection, {
    service: BUS_SERVICE,
    bindingPatterns: CONSUMED_ROUTING_KEYS,
    prefetch: config.busPrefetch,
    deduplicator: store,
    handler: (event, eventLogger) => engine.handle(event, eventLogger),
    logger: logger.child({ component: 'consumer' }),
    onOutcome: (outcome) => countConsumeOutcome(metrics, outcome),
  });
  let consuming = false;
  const startConsuming = (): void => {
    if (consuming) return;
    consuming = true;
    consumer.start();
  };
  if (watcher.rules !== undefined) startConsuming();
  else watcher.onChange(startConsuming);

  const app = await buildRulesApp({
    brand: config.brand,
    pool,
    logger,
    metrics,
    staffTokenSecret,
    staffTokenTtlSeconds: config.staffTokenTtlSeconds,
    rulesStatus: () => watcher.status(),
    readiness: {
      database: async () => {
        try {
          await pool.query('SELECT 1');
          return true;
        } catch {
          return false;
        }
      },
      redis: () => redis.status === 'ready',
      bus: () => connection.isConnected,
      rulesLoaded: () => watcher.rules !== undefined,
    },
    onOutboxWritten: () => eventRelay.wake('flag changed'),
  });

  eventRelay.start();
  emailRelay.start();
  void connection.start();
  await app.listen({ host: config.host, port: config.port });
  const port = (app.server.address() as AddressInfo).port;
  logger.info({ host: config.host, port, rulesVersion: watcher.rules?.version ?? null }, 'rules service listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Order: stop taking requests and events, publish what they committed, then close the connections.
      await app.close();
      await consumer.stop();
      await watcher.stop();
      await eventRelay.stop(config.shutdownTimeoutMs / 2);
      await emailRelay.stop(config.shutdownTimeoutMs / 4);
      await connection.close();
      transporter.close();
      await redis.quit().catch(() => redis.disconnect());
      await pool.end();
      logger.info('rules service stopped');
    })());

  return { app, port, pool, redis, watcher, metrics, eventRelay, emailRelay, stop };
}
