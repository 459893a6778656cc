import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import pino from 'pino';
import { BusConnection, BusPublisher } from '@croupier/shared';
import { buildWalletApp } from '../../src/app.js';
import { ApiKeyVerifier } from '../../src/auth/api-key.js';
import { signBody } from '../../src/auth/hmac.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { LedgerStore } from '../../src/ledger/store.js';
import { createWalletMetrics } from '../../src/metrics.js';
import { OutboxRelay } from '../../src/outbox/relay.js';

export const PROVIDER = 'acme-games';
export const PROVIDER_SECRET = 'provider-secret-0123456789';
export const PAYMENT_SECRET = 'payment-secret-0123456789';
export const API_KEY = 'licensee-api-key-0123456789';
export const PLAYER_TOKEN_SECRET = 'player-token-secret-that-is-32-bytes-long!';

export interface TestWalletOptions {
  databaseUrl: string;
  brand: string;
  /** Without a bus URL no relay runs: outbox rows stay unsent. */
  amqpUrl?: string;
  poolSize?: number;
  connectionTimeoutMs?: number;
  bodyLimitBytes?: number;
  limitCoolingOffSeconds?: number;
}

export interface TestWallet {
  app: FastifyInstance;
  pool: pg.Pool;
  relay: OutboxRelay | undefined;
  connection: BusConnection | undefined;
  close: () => Promise<void>;
}

/** Wires the wallet in-process like main.ts does, against a real database and, optionally, a real vhost. */
export async function startTestWallet(options: TestWalletOptions): Promise<TestWallet> {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const pool = createPool(
    {
      databaseUrl: options.databaseUrl,
      maxConnections: options.poolSize ?? 10,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 2000,
      statementTimeoutMs: 10_000,
      applicationName: 'wallet-test',
    },
    logger,
  );
  await migrate(pool, logger);

  const producerId = randomUUID();
  const metrics = createWalletMetrics(options.brand, async () => 0);
  let connection: BusConnection | undefined;
  let publisher: BusPublisher | undefined;
  let relay: OutboxRelay | undefined;
  if (options.amqpUrl !== undefined) {
    connection = new BusConnection({ url: options.amqpUrl, connectionName: 'wallet test', logger });
    publisher = new BusPublisher(connection, logger);
    relay = new OutboxRelay({
      databaseUrl: options.databaseUrl,
      publisher,
      connection,
      batchSize: 500,
      logger,
      metrics,
    });
  }
  const commitListener = relay ?? { handOff: () => undefined, requestFullDrain: () => undefined };
  const store = new LedgerStore({ pool, brand: options.brand, producerId, commitListener });
  const app = await buildWalletApp({
    store,
    commitListener,
    metrics,
    logger,
    providerSecrets: new Map([[PROVIDER, PROVIDER_SECRET]]),
    paymentSecret: PAYMENT_SECRET,
    apiKeys: new ApiKeyVerifier([API_KEY]),
    playerTokenSecret: PLAYER_TOKEN_SECRET,
    playerTokenTtlSeconds: 60,
    bodyLimitBytes: options.bodyLimitBytes ?? 65_536,
    limitCoolingOffSeconds: options.limitCoolingOffSeconds ?? 86_400,
    isBusReady: () => publisher?.isReady ?? false,
  });
  await app.ready();
  relay?.start();
  await connection?.start();

  return {
    app,
    pool,
    relay,
    connection,
    close: async () => {
      await app.close();
      await relay?.stop(5000);
      await connection?.close();
      await pool.end();
    },
  };
}

/** Sends a provider callback signed with the provider secret. */
export function providerCall(
  app: FastifyInstance,
  operation: 'balance' | 'bet' | 'win' | 'rollback' | 'end-round',
  body: object,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const payload = JSON.stringify(body);
  return app.inject({
    method: 'POST',
    url: `/v1/providers/${PROVIDER}/wallet/${operation}`,
    payload,
    headers: { 'content-type': 'application/json', 'x-croupier-signature': signBody(PROVIDER_SECRET, payload), ...headers },
  });
}

export function paymentCall(
  app: FastifyInstance,
  operation: 'deposit-completed' | 'withdrawal-requested' | 'withdrawal-completed' | 'withdrawal-failed',
  body: object,
): Promise<LightMyRequestResponse> {
  const payload = JSON.stringify(body);
  return app.inject({
    method: 'POST',
    url: `/v1/payments/${operation}`,
    payload,
    headers: { 'content-type': 'application/json', 'x-croupier-signature': signBody(PAYMENT_SECRET, payload) },
  });
}

/** Sends a licensee API call with the test API key. */
export function licenseeCall(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  body?: object,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    headers: { 'x-api-key': API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
}

export function errorCode(response: LightMyRequestResponse): string | undefined {
  return (response.json() as { error?: { code?: string } }).error?.code;
}
