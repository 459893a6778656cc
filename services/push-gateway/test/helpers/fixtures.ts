import { after, afterEach, before } from 'node:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { createLogger } from '@croupier/shared';
import { createTestVhost, infraSettings, type InfraSettings, uniqueBrand, waitFor } from '@croupier/shared/testing';
import { PlayerClient, type ConnectionState, type ConnectionStateChange, type PlayerBalance, type PlayerClientOptions } from '@croupier/player-client';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { brandRedisPrefix, startGateway, type GatewayConfig, type GatewayHandle } from '../../src/server.js';
import { TestEventPublisher } from './events.js';
import { buildPlayerToken } from './tokens.js';
import { startWalletStandIn, type StandInBalance, type WalletStandIn } from './wallet-stand-in.js';

/** One test brand: its own vhost, Redis prefix, token secret, wallet stand-in and event publisher. */
export interface BrandFixture {
  brand: string;
  infra: InfraSettings;
  amqpUrl: string;
  secret: string;
  wallet: WalletStandIn;
  publisher: TestEventPublisher;
  logger: Logger;
  removeVhost: () => Promise<void>;
}

export async function setUpBrand(prefix = 'gw'): Promise<BrandFixture> {
  const infra = infraSettings();
  const brand = uniqueBrand(prefix);
  const vhost = await createTestVhost(infra, brand);
  const wallet = await startWalletStandIn();
  const publisher = await TestEventPublisher.connect(vhost.amqpUrl);
  const logger = createLogger({ service: 'push-gateway-test', brand, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  return {
    brand,
    infra,
    amqpUrl: vhost.amqpUrl,
    secret: randomBytes(32).toString('hex'),
    wallet,
    publisher,
    logger,
    removeVhost: vhost.remove,
  };
}

export async function tearDownBrand(fixture: BrandFixture): Promise<void> {
  await fixture.publisher.close();
  await fixture.wallet.close();
  await deleteBrandKeys(fixture.infra.redisUrl, fixture.brand);
  await fixture.removeVhost();
}

/** Counts the Redis keys under the brand prefix, then deletes them. */
export async function deleteBrandKeys(redisUrl: string, brand: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    const keys = await redis.keys(`${brandRedisPrefix(brand)}*`);
    if (keys.length > 0) await redis.del(...keys);
    return keys.length;
  } finally {
    redis.disconnect();
  }
}

export type GatewayOverrides = Partial<Omit<GatewayConfig, 'wallet' | 'slowConsumer' | 'drain' | 'closing'>> & {
  wallet?: Partial<GatewayConfig['wallet']>;
  slowConsumer?: Partial<GatewayConfig['slowConsumer']>;
  drain?: Partial<GatewayConfig['drain']>;
  closing?: Partial<GatewayConfig['closing']>;
};

export function buildGatewayConfig(fixture: BrandFixture, overrides: GatewayOverrides = {}): GatewayConfig {
  return {
    brand: fixture.brand,
    host: '127.0.0.1',
    port: 0,
    redisUrl: fixture.infra.redisUrl,
    amqpUrl: fixture.amqpUrl,
    playerTokenSecret: fixture.secret,
    busPrefetch: 16,
    dedupTtlSeconds: 600,
    ...overrides,
    wallet: {
      baseUrl: fixture.wallet.url,
      apiKey: fixture.wallet.apiKey,
      timeoutMs: 1000,
      attemptsMax: 2,
      retryDelayMs: 20,
      unavailableHoldMs: 500,
      ...overrides.wallet,
    },
    slowConsumer: { bufferPacketsMax: 256, bufferBytesMax: 1_048_576, ...overrides.slowConsumer },
    drain: { periodMs: 200, timeoutMs: 5000, ...overrides.drain },
    closing: { reconnectAfterMsMin: 50, reconnectAfterMsMax: 150, graceMs: 500, ...overrides.closing },
  };
}

/** Closes what a test opened, newest first, even when the test failed. */
export class TestResources {
  private readonly closers: (() => Promise<void> | void)[] = [];

  add(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    while (this.closers.length > 0) {
      const close = this.closers.pop();
      try {
        await close?.();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'closing test resources failed');
  }
}

/**
 * Registers the hooks every gateway suite needs: a brand of its own before the
 * tests, closing what each test opened after it, and removing the brand at the
 * end. Call it inside `describe` and read `brand.fixture` inside the tests.
 */
export function useBrandFixture(prefix: string): { readonly fixture: BrandFixture; resources: TestResources } {
  let fixture: BrandFixture | undefined;
  const resources = new TestResources();

  before(async () => {
    fixture = await setUpBrand(prefix);
  });
  afterEach(() => resources.closeAll());
  after(async () => {
    // before() may have failed, for example while a broker restarts.
    if (fixture !== undefined) await tearDownBrand(fixture);
  });

  return {
    get fixture(): BrandFixture {
      if (fixture === undefined) throw new Error('the brand fixture is not set up; did its before() hook fail?');
      return fixture;
    },
    resources,
  };
}

export { waitFor };

export async function startTestGateway(
  fixture: BrandFixture,
  resources: TestResources,
  overrides: GatewayOverrides = {},
): Promise<GatewayHandle> {
  const gateway = await startGateway(buildGatewayConfig(fixture, overrides), fixture.logger);
  resources.add(() => gateway.close());
  return gateway;
}

/** Creates a player with a balance in the wallet stand-in and returns its id. */
export function seedPlayer(fixture: BrandFixture, balance: Partial<StandInBalance> = {}): string {
  const playerId = `player-${randomUUID()}`;
  fixture.wallet.setBalance(playerId, { currency: 'EUR', cashMinor: 1000, bonusMinor: 0, balanceVersion: 1, ...balance });
  return playerId;
}

export function tokenProvider(fixture: BrandFixture, playerId: string): () => Promise<string> {
  return () => Promise.resolve(buildPlayerToken({ secret: fixture.secret, playerId, brand: fixture.brand }));
}

export function connectPlayer(
  resources: TestResources,
  options: Omit<PlayerClientOptions, 'reconnectionDelayMs' | 'reconnectionDelayMaxMs'> & Partial<PlayerClientOptions>,
): PlayerClient {
  const client = new PlayerClient({ reconnectionDelayMs: 50, reconnectionDelayMaxMs: 500, ...options });
  resources.add(() => client.close());
  return client;
}


/** Resolves when the client has `balanceVersion` or a newer one. */
export function waitForBalanceVersion(client: PlayerClient, balanceVersion: number, timeoutMs = 5000): Promise<PlayerBalance> {
  return waitFor(
    () => {
      const balance = client.balance;
      return balance !== undefined && balance.balanceVersion >= balanceVersion ? balance : undefined;
    },
    `balance version ${balanceVersion} (client holds ${client.balance?.balanceVersion ?? 'none'})`,
    timeoutMs,
  );
}

export function waitForState(client: PlayerClient, state: ConnectionState, timeoutMs = 5000): Promise<ConnectionStateChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('connectionState', listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for state ${state} (client is ${client.state})`));
    }, timeoutMs);
    const listener = (change: ConnectionStateChange): void => {
      if (change.state !== state) return;
      clearTimeout(timer);
      client.off('connectionState', listener);
      resolve(change);
    };
    client.on('connectionState', listener);
  });
}

/** Reads one sample of a Prometheus metric from the gateway's `/metrics`; 0 when absent. */
export async function readMetric(gatewayUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matchesLabels = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (matchesLabels) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
