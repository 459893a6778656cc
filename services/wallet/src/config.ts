import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, readConfig } from '@croupier/shared';

/** Environment variables of the wallet process; the README lists them with their meaning. */
export const WalletEnvSchema = Type.Object({
  WALLET_BRAND: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  DATABASE_URL: Type.String({ minLength: 1 }),
  AMQP_URL: Type.String({ minLength: 1 }),
  WALLET_HTTP_HOST: Type.String({ default: '127.0.0.1' }),
  WALLET_HTTP_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  WALLET_PROVIDER_SECRETS: Type.String({ minLength: 2 }),
  WALLET_PAYMENT_SECRET: Type.String({ minLength: 16 }),
  WALLET_API_KEYS: Type.String({ minLength: 16 }),
  WALLET_PLAYER_TOKEN_SECRET: Type.String({ minLength: 32 }),
  WALLET_PLAYER_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 300 }),
  WALLET_PG_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 20 }),
  WALLET_PG_CONNECTION_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 60_000, default: 1000 }),
  WALLET_PG_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
  WALLET_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 10_485_760, default: 65_536 }),
  WALLET_OUTBOX_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
  WALLET_OUTBOX_RETENTION_SECONDS: Type.Integer({ minimum: 0, maximum: 30 * 86_400, default: 3600 }),
  WALLET_SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  WALLET_LIMIT_COOLING_OFF_SECONDS: Type.Integer({ minimum: 0, maximum: 90 * 86_400, default: 86_400 }),
  LOG_LEVEL: Type.String({ default: 'info' }),
});

export interface WalletConfig {
  brand: string;
  databaseUrl: string;
  amqpUrl: string;
  httpHost: string;
  httpPort: number;
  /** Provider name to HMAC secret. */
  providerSecrets: ReadonlyMap<string, string>;
  paymentSecret: string;
  apiKeys: readonly string[];
  playerTokenSecret: string;
  playerTokenTtlSeconds: number;
  pgPoolSize: number;
  pgConnectionTimeoutMs: number;
  pgStatementTimeoutMs: number;
  bodyLimitBytes: number;
  outboxBatchSize: number;
  outboxRetentionSeconds: number;
  shutdownTimeoutMs: number;
  /** Wait before a raised or removed responsible-gaming limit applies. */
  limitCoolingOffSeconds: number;
  logLevel: string;
}

const PROVIDER_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Reads and checks the wallet settings; throws ConfigError naming every invalid variable. */
export function loadWalletConfig(env: NodeJS.ProcessEnv = process.env): WalletConfig {
  const raw: Static<typeof WalletEnvSchema> = readConfig(WalletEnvSchema, env);
  const problems: string[] = [];

  const providerSecrets = parseProviderSecrets(raw.WALLET_PROVIDER_SECRETS, problems);
  const apiKeys = raw.WALLET_API_KEYS.split(',').map((key) => key.trim()).filter((key) => key !== '');
  if (apiKeys.some((key) => key.length < 16)) {
    problems.push('WALLET_API_KEYS: every key must have at least 16 characters');
  }
  if (Buffer.byteLength(raw.WALLET_PLAYER_TOKEN_SECRET) < 32) {
    problems.push('WALLET_PLAYER_TOKEN_SECRET: must be at least 32 bytes');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    brand: raw.WALLET_BRAND,
    databaseUrl: raw.DATABASE_URL,
    amqpUrl: raw.AMQP_URL,
    httpHost: raw.WALLET_HTTP_HOST,
    httpPort: raw.WALLET_HTTP_PORT,
    providerSecrets,
    paymentSecret: raw.WALLET_PAYMENT_SECRET,
    apiKeys,
    playerTokenSecret: raw.WALLET_PLAYER_TOKEN_SECRET,
    playerTokenTtlSeconds: raw.WALLET_PLAYER_TOKEN_TTL_SECONDS,
    pgPoolSize: raw.WALLET_PG_POOL_SIZE,
    pgConnectionTimeoutMs: raw.WALLET_PG_CONNECTION_TIMEOUT_MS,
    pgStatementTimeoutMs: raw.WALLET_PG_STATEMENT_TIMEOUT_MS,
    bodyLimitBytes: raw.WALLET_BODY_LIMIT_BYTES,
    outboxBatchSize: raw.WALLET_OUTBOX_BATCH_SIZE,
    outboxRetentionSeconds: raw.WALLET_OUTBOX_RETENTION_SECONDS,
    shutdownTimeoutMs: raw.WALLET_SHUTDOWN_TIMEOUT_MS,
    limitCoolingOffSeconds: raw.WALLET_LIMIT_COOLING_OFF_SECONDS,
    logLevel: raw.LOG_LEVEL,
  };
}

/** Parses `{"provider-name": "secret", ...}`; reports problems without echoing a secret. */
function parseProviderSecrets(json: string, problems: string[]): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    problems.push('WALLET_PROVIDER_SECRETS: is not valid JSON; expected an object of provider name to secret');
    return new Map();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('WALLET_PROVIDER_SECRETS: expected a JSON object of provider name to secret');
    return new Map();
  }

  const secrets = new Map<string, string>();
  for (const [provider, secret] of Object.entries(parsed)) {
    if (!PROVIDER_NAME_PATTERN.test(provider)) {
      problems.push(`WALLET_PROVIDER_SECRETS: provider name ${JSON.stringify(provider)} must match ${PROVIDER_NAME_PATTERN.source}`);
    } else if (typeof secret !== 'string' || secret.length < 16) {
      problems.push(`WALLET_PROVIDER_SECRETS: the secret of provider ${provider} must be a string of at least 16 characters`);
    } else {
      secrets.set(provider, secret);
    }
  }
  if (secrets.size === 0 && problems.length === 0) problems.push('WALLET_PROVIDER_SECRETS: names no provider');
  return secrets;
}
