import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRulesConfig, startRulesService, type RulesServiceHandle } from '@croupier/rules';
import { createLogger } from '@croupier/shared';
import { createTestVhost, infraSettings, uniqueBrand, type InfraSettings } from '@croupier/shared/testing';
import type { Logger } from 'pino';
import pg from 'pg';
import type { GatewayConfig } from '../../src/config.js';

const WALLET_MAIN_PATH = fileURLToPath(new URL('../../../wallet/src/main.ts', import.meta.url));
const WALLET_STARTUP_TIMEOUT_MS = 30_000;

export const WALLET_API_KEY = 'backoffice-test-api-key-0123456789';
const PROVIDER = 'acme-games';
const PROVIDER_SECRET = 'backoffice-test-provider-secret';
const PAYMENT_SECRET = 'backoffice-test-payment-secret';
const PLAYER_TOKEN_SECRET = 'backoffice-test-player-token-secret-0123456789';
export const STAFF_TOKEN_SECRET = 'backoffice-test-staff-token-secret-0123456789';

export const OFFICER = { username: 'olivia', password: 'officer-password-1', role: 'compliance_officer' } as const;
export const AGENT = { username: 'adam', password: 'agent-password-12', role: 'agent' } as const;

/** A bet of at least 50.00 EUR fires `big-stake`, which prompts the player and opens a high-severity flag. */
export const BIG_STAKE_MINOR = 5000;
const RULES_YAML = `
version: backoffice-test-1
rules:
  - id: big-stake
    kind: single_transaction
    measure: stakes
    thresholds: { EUR: { amountMinor: ${BIG_STAKE_MINOR} } }
    severity: high
    actions: [prompt, flag]
    message: You placed a single stake of 50 EUR or more. Consider setting a loss limit.
`;

/**
 * One brand with the real services the back office calls. The wallet runs as
 * a child process and the rules service in this process, as its own tests
 * start it. Each has its own database, and they share a vhost with the
 * gateway. Staff accounts OFFICER and AGENT are seeded.
 */
export interface BackofficeStack {
  brand: string;
  infra: InfraSettings;
  amqpUrl: string;
  walletUrl: string;
  rulesUrl: string;
  rules: RulesServiceHandle;
  logger: Logger;
  /** Builds a gateway config for this brand with the back office enabled. */
  gatewayConfig(overrides?: Partial<GatewayConfig>): GatewayConfig;
  /** Creates a player in EUR with a cash deposit of `depositMinor`. */
  createPlayer(depositMinor: number): Promise<string>;
  /** Places a signed bet through the provider API; returns the provider transaction id. */
  placeBet(playerId: string, amountMinor: number): Promise<string>;
  /** Signs in through the rules API and returns the staff token. */
  signIn(staff: { username: string; password: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startBackofficeStack(prefix = 'bo'): Promise<BackofficeStack> {
  const infra = infraSettings();
  const brand = uniqueBrand(prefix);
  const logger = createLogger({ service: 'push-gateway-test', brand, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const cleanups: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };

  try {
    const vhost = await createTestVhost(infra, brand);
    cleanups.push(vhost.remove);

    const walletDatabase = await createDatabase(infra.pgUrl, 'wallet');
    cleanups.push(walletDatabase.drop);
    const wallet = await startWallet(brand, walletDatabase.url, vhost.amqpUrl);
    cleanups.push(wallet.stop);

    const rulesDatabase = await createDatabase(infra.pgUrl, 'rules', 'CREATE SCHEMA rules');
    cleanups.push(rulesDatabase.drop);
    const rulesDirectory = await mkdtemp(join(tmpdir(), 'croupier-gateway-rules-'));
    cleanups.push(() => rm(rulesDirectory, { recursive: true, force: true }));
    const rulesFile = join(rulesDirectory, 'rules.yaml');
    await writeFile(rulesFile, RULES_YAML);
    const rulesConfig = loadRulesConfig({
      BRAND: brand,
      HOST: '127.0.0.1',
      PORT: '0',
      AMQP_URL: vhost.amqpUrl,
      REDIS_URL: infra.redisUrl,
      DATABASE_URL: rulesDatabase.url,
      RULES_FILE: rulesFile,
      STAFF_TOKEN_SECRET,
      RULES_STAFF_SEED: JSON.stringify([OFFICER, AGENT]),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    const rules = await startRulesService(rulesConfig, createLogger({ service: 'rules', brand, level: rulesConfig.logLevel }));
    cleanups.push(() => rules.stop());
    const rulesUrl = `http://127.0.0.1:${rules.port}`;

    return {
      brand,
      infra,
      amqpUrl: vhost.amqpUrl,
      walletUrl: wallet.url,
      rulesUrl,
      rules,
      logger,
      gatewayConfig: (overrides = {}) => ({
        brand,
        host: '127.0.0.1',
        port: 0,
        redisUrl: infra.redisUrl,
        amqpUrl: vhost.amqpUrl,
        playerTokenSecret: PLAYER_TOKEN_SECRET,
        busPrefetch: 16,
        dedupTtlSeconds: 600,
        wallet: { baseUrl: wallet.url, apiKey: WALLET_API_KEY, timeoutMs: 2000, attemptsMax: 2, retryDelayMs: 20, unavailableHoldMs: 500 },
        slowConsumer: { bufferPacketsMax: 256, bufferBytesMax: 1_048_576 },
        drain: { periodMs: 200, timeoutMs: 5000 },
        closing: { reconnectAfterMsMin: 50, reconnectAfterMsMax: 150, graceMs: 500 },
        backoffice: {
          staffTokenSecret: STAFF_TOKEN_SECRET,
          rules: { baseUrl: rulesUrl, timeoutMs: 3000 },
          watchedPlayersMax: 3,
          transactionsLimit: 20,
          interventionsLimit: 20,
        },
        ...overrides,
      }),
      createPlayer: async (depositMinor) => {
        const playerId = `player-${randomUUID()}`;
        await callWallet(wallet.url, '/v1/players', { playerId, currency: 'EUR' }, { 'x-api-key': WALLET_API_KEY });
        const deposit = { paymentReference: `dep-${randomUUID()}`, playerId, amount: formatMajor(depositMinor), currency: 'EUR', method: 'card' };
        await callWallet(wallet.url, '/v1/payments/deposit-completed', deposit, signatureHeader(deposit, PAYMENT_SECRET));
        return playerId;
      },
      placeBet: async (playerId, amountMinor) => {
        const transactionId = `bet-${randomUUID()}`;
        const bet = { playerId, transactionId, roundId: `round-${randomUUID()}`, gameId: 'starlight-slots', amount: formatMajor(amountMinor), currency: 'EUR' };
        await callWallet(wallet.url, `/v1/providers/${PROVIDER}/wallet/bet`, bet, signatureHeader(bet, PROVIDER_SECRET));
        return transactionId;
      },
      signIn: async (staff) => {
        const response = await fetch(`${rulesUrl}/staff/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: staff.username, password: staff.password }),
        });
        if (!response.ok) throw new Error(`sign-in of ${staff.username} failed with HTTP ${response.status}: ${await response.text()}`);
        return ((await response.json()) as { token: string }).token;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function formatMajor(amountMinor: number): string {
  return (amountMinor / 100).toFixed(2);
}

function signatureHeader(body: object, secret: string): Record<string, string> {
  const signature = createHmac('sha256', secret).update(JSON.stringify(body)).digest('hex');
  return { 'x-croupier-signature': `sha256=${signature}` };
}

async function callWallet(baseUrl: string, path: string, body: object, headers: Record<string, string>): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`wallet ${path} failed with HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as unknown;
}

async function createDatabase(pgUrl: string, prefix: string, setupSql?: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  if (setupSql !== undefined) {
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(setupSql);
    } finally {
      await client.end();
    }
  }
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Starts the wallet's `src/main.ts` as a child process on a free loopback port and waits until it listens. */
async function startWallet(brand: string, databaseUrl: string, amqpUrl: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', WALLET_MAIN_PATH], {
    env: {
      PATH: process.env.PATH ?? '',
      WALLET_BRAND: brand,
      DATABASE_URL: databaseUrl,
      AMQP_URL: amqpUrl,
      WALLET_HTTP_HOST: '127.0.0.1',
      WALLET_HTTP_PORT: '0',
      WALLET_PROVIDER_SECRETS: JSON.stringify({ [PROVIDER]: PROVIDER_SECRET }),
      WALLET_PAYMENT_SECRET: PAYMENT_SECRET,
      WALLET_API_KEYS: WALLET_API_KEY,
      WALLET_PLAYER_TOKEN_SECRET: PLAYER_TOKEN_SECRET,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wallet did not listen within ${WALLET_STARTUP_TIMEOUT_MS} ms:\n${output}`)), WALLET_STARTUP_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`wallet exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
