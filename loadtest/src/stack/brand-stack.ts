import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { brandRedisPrefix, deleteVhost, ensureVhost, signPlayerToken, vhostAmqpUrl } from '@croupier/shared';
import { Redis } from 'ioredis';
import { findFreePort, type InfraSettings } from '@croupier/shared/testing';
import { WalletApi } from '../wallet-api.js';
import { ServiceProcess } from './service-process.js';

export const DEMO_PROVIDER = 'demo-provider';

export interface BrandStackOptions {
  brand: string;
  infra: InfraSettings;
  gatewayReplicas: number;
  logDirectory: string;
  /** Extra environment for the wallet and the gateways, such as pool sizes. */
  walletEnv?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  /** Starts the rules engine with this rule file; without it the brand runs no rules. */
  rules?: { file: string; env?: Record<string, string> };
}

interface BrandSecrets {
  providerSecret: string;
  paymentSecret: string;
  apiKey: string;
  playerTokenSecret: string;
  staffTokenSecret: string;
}

/**
 * One brand running on this machine the way a cluster runs it: its own
 * database and vhost on the shared servers, one wallet process and N push
 * gateway replicas sharing Redis. Here the demo and the benchmarks provision
 * these pieces directly; in a cluster the operator (operator/) does.
 */
export class BrandStack {
  readonly walletApi: WalletApi;

  private constructor(
    readonly brand: string,
    readonly wallet: ServiceProcess,
    readonly gateways: ServiceProcess[],
    readonly walletUrl: string,
    readonly gatewayUrls: string[],
    private readonly secrets: BrandSecrets,
    readonly rules: ServiceProcess | undefined,
    readonly rulesUrl: string | undefined,
  ) {
    this.walletApi = new WalletApi({
      baseUrl: walletUrl,
      apiKey: secrets.apiKey,
      providerSecrets: { [DEMO_PROVIDER]: secrets.providerSecret },
      paymentSecret: secrets.paymentSecret,
      maxSockets: 128,
    });
  }

  static async start(options: BrandStackOptions): Promise<BrandStack> {
    const secrets: BrandSecrets = {
      providerSecret: randomSecret(),
      paymentSecret: randomSecret(),
      apiKey: randomSecret(),
      playerTokenSecret: randomSecret(),
      staffTokenSecret: randomSecret(),
    };
    const databaseUrl = await recreateDatabase(options.infra.pgUrl, databaseName(options.brand));
    // Rules aggregates and gateway state of an older run would carry over: a rule that fired
    // then would not fire again within its window.
    await clearRedisPrefix(options.infra.redisUrl, brandRedisPrefix(options.brand));
    // Recreate the vhost too, so a run never meets queues or exchanges left by an older one.
    const amqpUser = decodeURIComponent(new URL(options.infra.amqpUrl).username);
    await deleteVhost(options.infra.managementUrl, options.brand);
    await ensureVhost(options.infra.managementUrl, options.brand, amqpUser);
    const amqpUrl = vhostAmqpUrl(options.infra.amqpUrl, options.brand);

    const walletPort = await findFreePort();
    const walletUrl = `http://127.0.0.1:${walletPort}`;
    const wallet = new ServiceProcess({
      name: `${options.brand}-wallet`,
      entry: 'services/wallet/src/main.ts',
      logDirectory: options.logDirectory,
      readinessUrl: `${walletUrl}/readyz`,
      env: {
        WALLET_BRAND: options.brand,
        DATABASE_URL: databaseUrl,
        AMQP_URL: amqpUrl,
        WALLET_HTTP_HOST: '127.0.0.1',
        WALLET_HTTP_PORT: String(walletPort),
        WALLET_PROVIDER_SECRETS: JSON.stringify({ [DEMO_PROVIDER]: secrets.providerSecret }),
        WALLET_PAYMENT_SECRET: secrets.paymentSecret,
        WALLET_API_KEYS: secrets.apiKey,
        WALLET_PLAYER_TOKEN_SECRET: secrets.playerTokenSecret,
        ...options.walletEnv,
      },
    });
    await wallet.start();

    let rules: ServiceProcess | undefined;
    let rulesUrl: string | undefined;
    if (options.rules !== undefined) {
      // In a cluster the operator creates this schema for the rules role; here the admin does.
      await createSchema(databaseUrl, 'rules');
      const rulesPort = await findFreePort();
      rulesUrl = `http://127.0.0.1:${rulesPort}`;
      rules = new ServiceProcess({
        name: `${options.brand}-rules`,
        entry: 'services/rules/src/main.ts',
        logDirectory: options.logDirectory,
        readinessUrl: `${rulesUrl}/readyz`,
        env: {
          BRAND: options.brand,
          HOST: '127.0.0.1',
          PORT: String(rulesPort),
          AMQP_URL: amqpUrl,
          REDIS_URL: options.infra.redisUrl,
          DATABASE_URL: databaseUrl,
          RULES_FILE: options.rules.file,
          STAFF_TOKEN_SECRET: secrets.staffTokenSecret,
          ...options.rules.env,
        },
      });
      try {
        await rules.start();
      } catch (error) {
        await wallet.stop();
        throw error;
      }
    }

    const gatewayPorts = await Promise.all(Array.from({ length: options.gatewayReplicas }, () => findFreePort()));
    const gateways = gatewayPorts.map(
      (port, index) =>
        new ServiceProcess({
          name: `${options.brand}-gateway-${index + 1}`,
          entry: 'services/push-gateway/src/main.ts',
          logDirectory: options.logDirectory,
          readinessUrl: `http://127.0.0.1:${port}/readyz`,
          env: {
            BRAND: options.brand,
            HOST: '127.0.0.1',
            PORT: String(port),
            REDIS_URL: options.infra.redisUrl,
            AMQP_URL: amqpUrl,
            PLAYER_TOKEN_SECRET: secrets.playerTokenSecret,
            WALLET_BASE_URL: walletUrl,
            WALLET_API_KEY: secrets.apiKey,
            // The back office needs the rules service; without it the gateway serves players only.
            ...(rulesUrl === undefined ? {} : { STAFF_TOKEN_SECRET: secrets.staffTokenSecret, RULES_BASE_URL: rulesUrl }),
            ...options.gatewayEnv,
          },
        }),
    );
    try {
      await Promise.all(gateways.map((gateway) => gateway.start()));
    } catch (error) {
      await Promise.all([wallet.stop(), rules?.stop(), ...gateways.map((gateway) => gateway.stop())]);
      throw error;
    }

    const gatewayUrls = gatewayPorts.map((port) => `http://127.0.0.1:${port}`);
    return new BrandStack(options.brand, wallet, gateways, walletUrl, gatewayUrls, secrets, rules, rulesUrl);
  }

  /** Signs a player token locally, as the wallet would, to spare thousands of HTTP calls in benchmarks. */
  async signToken(playerId: string, ttlSeconds = 3600): Promise<string> {
    const { token } = await signPlayerToken(this.secrets.playerTokenSecret, { playerId, brand: this.brand, ttlSeconds });
    return token;
  }

  /** The brand's generated secrets, for a person exploring a demo brand; never log them elsewhere. */
  get demoSecrets(): { walletApiKey: string; paymentSecret: string; providerSecret: string } {
    return { walletApiKey: this.secrets.apiKey, paymentSecret: this.secrets.paymentSecret, providerSecret: this.secrets.providerSecret };
  }

  /** Secret the rules service signs staff tokens with; the gateways verify them. */
  get staffTokenSecret(): string {
    return this.secrets.staffTokenSecret;
  }

  /** Stops the gateways, then the rules engine and the wallet, each with SIGTERM; returns the processes' exit codes. */
  async stop(): Promise<Array<number | null>> {
    this.walletApi.close();
    const gatewayCodes = await Promise.all(this.gateways.map((gateway) => gateway.stop()));
    const rulesCode = this.rules === undefined ? [] : [await this.rules.stop()];
    const walletCode = await this.wallet.stop();
    return [...gatewayCodes, ...rulesCode, walletCode];
  }
}

/** Drops the brand's database and vhost; for tests that must leave the shared servers as they found them. */
export async function removeBrandData(infra: InfraSettings, brand: string): Promise<void> {
  const client = new pg.Client({ connectionString: infra.pgUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName(brand))} WITH (FORCE)`);
  } finally {
    await client.end();
  }
  await deleteVhost(infra.managementUrl, brand);
}

function randomSecret(): string {
  return randomBytes(32).toString('hex');
}

export function databaseName(brand: string): string {
  return `croupier_${brand.replace(/-/g, '_')}`;
}

/** Unlinks every Redis key under `prefix`, such as what an older run of the same brand left. */
export async function clearRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function createSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`);
  } finally {
    await client.end();
  }
}

/** Drops and creates the brand's database so every run starts from an empty ledger. */
async function recreateDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
