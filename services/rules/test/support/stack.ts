import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import {
  createLogger,
  declareExchanges,
  EVENTS_EXCHANGE,
  parseEvent,
  ROUTING_KEYS,
  type EventEnvelope,
  type EventType,
  type EventData,
} from '@croupier/shared';
import { createTestVhost, findFreePort, infraSettings, uniqueBrand, waitFor } from '@croupier/shared/testing';
import { loadRulesConfig, startRulesService, type RulesServiceHandle } from '../../src/service.js';

export const STAFF_TOKEN_SECRET = 'rules-test-staff-token-secret-0123456789abcdef';
export const OFFICER = { username: 'olivia', password: 'officer-password-1', role: 'compliance_officer' } as const;
export const AGENT = { username: 'adam', password: 'agent-password-12', role: 'agent' } as const;

/** Creates database `rules_<random>` with the schema `rules`, as the operator would; drop() removes it. */
export async function createRulesDatabase(pgUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `rules_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query('CREATE SCHEMA rules');
  await client.end();
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = new pg.Client({ connectionString: pgUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

export interface ReceivedMail {
  to: string[];
  raw: string;
}

/** Starts an SMTP server on loopback that keeps every message it receives. */
export async function startSmtpServer(): Promise<{ url: string; mails: ReceivedMail[]; close: () => Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((address) => address.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  const port = await findFreePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface TestStack {
  brand: string;
  amqpUrl: string;
  databaseUrl: string;
  rulesFile: string;
  rulesDirectory: string;
  smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  service: RulesServiceHandle;
  /** Events the service published, read from an exclusive queue bound to intervention.# and compliance.#. */
  published: EventEnvelope[];
  publish: <T extends EventType>(type: T, playerId: string, data: EventData<T>, options?: PublishOptions) => Promise<string>;
  publishRaw: (routingKey: string, body: Buffer, redelivery?: boolean) => Promise<void>;
  /** Stops and starts the service; `env` overrides settings for this and later restarts. */
  restart: (env?: Record<string, string>) => Promise<void>;
  close: () => Promise<void>;
}

export interface PublishOptions {
  occurredAt?: Date;
  eventId?: string;
}

/**
 * Starts one brand's rules service in this process against the shared
 * PostgreSQL, RabbitMQ and Redis, with its own database, vhost, brand prefix,
 * rule file and SMTP server.
 */
export async function startStack(rulesYaml: string, env: Record<string, string> = {}): Promise<TestStack> {
  const infra = infraSettings();
  const brand = uniqueBrand('rules');
  const vhost = await createTestVhost(infra, brand);
  const database = await createRulesDatabase(infra.pgUrl);
  const smtp = await startSmtpServer();
  const rulesDirectory = await mkdtemp(path.join(tmpdir(), 'croupier-rules-'));
  const rulesFile = path.join(rulesDirectory, 'rules.yaml');
  await writeFile(rulesFile, rulesYaml);

  const connection = await amqp.connect(vhost.amqpUrl);
  const channel = await connection.createConfirmChannel();
  await declareExchanges(channel);
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, EVENTS_EXCHANGE, 'intervention.#');
  await channel.bindQueue(queue, EVENTS_EXCHANGE, 'compliance.#');
  const published: EventEnvelope[] = [];
  await channel.consume(queue, (message) => {
    if (message !== null) published.push(parseEvent(message.content));
  }, { noAck: true });

  const baseEnv = {
    BRAND: brand,
    HOST: '127.0.0.1',
    PORT: '0',
    AMQP_URL: vhost.amqpUrl,
    REDIS_URL: infra.redisUrl,
    DATABASE_URL: database.url,
    RULES_FILE: rulesFile,
    SMTP_URL: smtp.url,
    RULES_COMPLIANCE_EMAIL: 'compliance@example.test',
    STAFF_TOKEN_SECRET,
    RULES_STAFF_SEED: JSON.stringify([OFFICER, AGENT]),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  };
  const startService = async (overrides: Record<string, string> = {}) => {
    const config = loadRulesConfig({ ...baseEnv, ...overrides });
    const service = await startRulesService(config, createLogger({ service: 'rules', brand, level: config.logLevel }));
    if (service.watcher.rules !== undefined) await waitForConsumer(connection);
    return service;
  };

  // Settings passed to restart() stay in force for later restarts.
  let lastOverrides: Record<string, string> = {};
  const stack: TestStack = {
    brand,
    amqpUrl: vhost.amqpUrl,
    databaseUrl: database.url,
    rulesFile,
    rulesDirectory,
    smtp,
    service: await startService(),
    published,
    publish: async (type, playerId, data, options = {}) => {
      const id = options.eventId ?? randomUUID();
      const occurredAt = (options.occurredAt ?? new Date()).toISOString();
      const envelope = { id, type, schemaVersion: 1, brand, playerId, occurredAt, committedAt: new Date().toISOString(), data };
      channel.publish(EVENTS_EXCHANGE, ROUTING_KEYS[type], Buffer.from(JSON.stringify(envelope)), { persistent: true, messageId: id });
      await channel.waitForConfirms();
      return id;
    },
    publishRaw: async (routingKey, body) => {
      channel.publish(EVENTS_EXCHANGE, routingKey, body, { persistent: true });
      await channel.waitForConfirms();
    },
    restart: async (overrides = {}) => {
      await stack.service.stop();
      lastOverrides = { ...lastOverrides, ...overrides };
      stack.service = await startService(lastOverrides);
    },
    close: async () => {
      await stack.service.stop();
      await connection.close().catch(() => undefined);
      await smtp.close();
      await vhost.remove();
      await database.drop();
      await rm(rulesDirectory, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Waits until the service's queue exists and has a consumer, so events published next reach it. */
export async function waitForConsumer(connection: amqp.ChannelModel): Promise<void> {
  await waitFor(
    async () => {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        const { consumerCount } = await channel.checkQueue('rules.events');
        return consumerCount > 0;
      } catch {
        return false;
      } finally {
        await channel.close().catch(() => undefined);
      }
    },
    'the rules service to consume its queue',
    10_000,
  );
}

/** Returns how many deliveries the running service has finished, whatever their outcome. */
export async function consumedCount(stack: TestStack): Promise<number> {
  const metric = await stack.service.metrics.eventsConsumed.get();
  return metric.values.reduce((total, sample) => total + sample.value, 0);
}

/** Waits until the running service has finished `count` deliveries. */
export async function waitForConsumed(stack: TestStack, count: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await consumedCount(stack)) >= count, `${count} consumed deliveries`, timeoutMs);
}

/** Returns the interventions stored for a player, oldest first. */
export async function interventionsOf(stack: TestStack, playerId: string): Promise<Record<string, unknown>[]> {
  const { rows } = await stack.service.pool.query(
    'SELECT * FROM rules.interventions WHERE player_id = $1 ORDER BY window_end, created_at',
    [playerId],
  );
  return rows;
}

export { waitFor };
