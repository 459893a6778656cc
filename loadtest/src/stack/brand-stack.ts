import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { deleteVhost, ensureVhost, signPlayerToken, vhostAmqpUrl } from '@croupier/shared';
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
}

interface BrandSecrets {
  providerSecret: string;
  paymentSecret: string;
  apiKey: string;
  playerTokenSecret: string;
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
    };
    const databaseUrl = await recreateDatabase(options.infra.pgUrl, databaseName(options.brand));
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
            ...options.gatewayEnv,
          },
        }),
    );
    try {
      await Promise.all(gateways.map((gateway) => gateway.start()));
    } catch (error) {
      await Promise.all([wallet.stop(), ...gateways.map((gateway) => gateway.stop())]);
      throw error;
    }

    const gatewayUrls = gatewayPorts.map((port) => `http://127.0.0.1:${port}`);
    return new BrandStack(options.brand, wallet, gateways, walletUrl, gatewayUrls, secrets);
  }

  /** Signs a player token locally, as the wallet would, to spare thousands of HTTP calls in benchmarks. */
  async signToken(playerId: string, ttlSeconds = 3600): Promise<string> {
    const { token } = await signPlayerToken(this.secrets.playerTokenSecret, { playerId, brand: this.brand, ttlSeconds });
    return token;
  }

  /** Stops the gateways, then the wallet, each with SIGTERM; returns the processes' exit codes. */
  async stop(): Promise<Array<number | null>> {
    this.walletApi.close();
    const gatewayCodes = await Promise.all(this.gateways.map((gateway) => gateway.stop()));
    const walletCode = await this.wallet.stop();
    return [...gatewayCodes, walletCode];
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
