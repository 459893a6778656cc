import { Type } from '@sinclair/typebox';
import { ConfigError, readConfig } from '@croupier/shared';

/**
 * Environment variables of one gateway replica. Each property name is the
 * variable name; see the README for what each one sets.
 */
export const GatewayEnvSchema = Type.Object({
  BRAND: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9][a-z0-9-]*$' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  REDIS_URL: Type.String({ pattern: '^rediss?://' }),
  AMQP_URL: Type.String({ pattern: '^amqps?://' }),
  PLAYER_TOKEN_SECRET: Type.String({ minLength: 32 }),
  WALLET_BASE_URL: Type.String({ pattern: '^https?://' }),
  WALLET_API_KEY: Type.String({ minLength: 1 }),
  WALLET_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 2000 }),
  WALLET_ATTEMPTS_MAX: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
  WALLET_RETRY_DELAY_MS: Type.Integer({ minimum: 1, default: 100 }),
  WALLET_UNAVAILABLE_HOLD_MS: Type.Integer({ minimum: 0, default: 2000 }),
  BUS_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 64 }),
  DEDUP_TTL_SECONDS: Type.Integer({ minimum: 60, default: 86_400 }),
  SLOW_CONSUMER_BUFFER_PACKETS_MAX: Type.Integer({ minimum: 1, default: 256 }),
  SLOW_CONSUMER_BUFFER_BYTES_MAX: Type.Integer({ minimum: 1024, default: 1_048_576 }),
  CLOSE_GRACE_MS: Type.Integer({ minimum: 0, default: 1000 }),
  DRAIN_PERIOD_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  DRAIN_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 25_000 }),
  RECONNECT_AFTER_MS_MIN: Type.Integer({ minimum: 0, default: 500 }),
  RECONNECT_AFTER_MS_MAX: Type.Integer({ minimum: 0, default: 5000 }),
  STAFF_TOKEN_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  RULES_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  RULES_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 3000 }),
  BACKOFFICE_WATCHED_PLAYERS_MAX: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  BACKOFFICE_TRANSACTIONS_LIMIT: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  BACKOFFICE_INTERVENTIONS_LIMIT: Type.Integer({ minimum: 1, maximum: 200, default: 20 }),
});

export interface GatewayConfig {
  brand: string;
  host: string;
  /** 0 picks a free port; the handle returned by startGateway reports the bound one. */
  port: number;
  redisUrl: string;
  /** AMQP URL of the brand's vhost. */
  amqpUrl: string;
  playerTokenSecret: string;
  wallet: WalletClientConfig;
  busPrefetch: number;
  dedupTtlSeconds: number;
  slowConsumer: SlowConsumerConfig;
  drain: DrainConfig;
  closing: ClosingConfig;
  /** Absent when STAFF_TOKEN_SECRET and RULES_BASE_URL are unset: no `/backoffice` namespace or page then. */
  backoffice?: BackofficeConfig;
}

export interface BackofficeConfig {
  /** HS256 secret of staff tokens, shared with the rules service of the brand. */
  staffTokenSecret: string;
  rules: RulesClientConfig;
  /** Players one back office socket may watch at once. */
  watchedPlayersMax: number;
  /** Transactions read from the wallet when a staff member starts watching a player. */
  transactionsLimit: number;
  /** Interventions read from the rules service when a staff member starts watching a player. */
  interventionsLimit: number;
}

export interface RulesClientConfig {
  baseUrl: string;
  /** Per request; rules calls are not retried, because resolving a flag is not idempotent. */
  timeoutMs: number;
}

export interface WalletClientConfig {
  baseUrl: string;
  apiKey: string;
  /** Per attempt. */
  timeoutMs: number;
  attemptsMax: number;
  /** First retry delay; later ones double, with jitter, up to ten times this. */
  retryDelayMs: number;
  /** After a failed snapshot, handshakes are rejected with GATEWAY_ERR_SNAPSHOT_UNAVAILABLE for this long. */
  unavailableHoldMs: number;
}

export interface SlowConsumerConfig {
  /** engine.io packets waiting in one connection's write buffer. */
  bufferPacketsMax: number;
  /** Bytes buffered by the WebSocket of one connection and not yet written to the kernel. */
  bufferBytesMax: number;
}

export interface DrainConfig {
  /** Disconnects are spread evenly over this period. */
  periodMs: number;
  /** Hard bound on the whole drain, enforced by the process entry. */
  timeoutMs: number;
}

/** Settings for connections the gateway closes on purpose (drain, slow consumer). */
export interface ClosingConfig {
  /** Range of the `reconnectAfterMs` suggested in the notice; each notice draws a value at random. */
  reconnectAfterMsMin: number;
  reconnectAfterMsMax: number;
  /** Time the notice gets to reach the client before the transport is closed without it. */
  graceMs: number;
}

/** Reads and validates the gateway's environment variables, reporting every problem at once. */
export function readGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const raw = readConfig(GatewayEnvSchema, env);

  const problems: string[] = [];
  if (raw.RECONNECT_AFTER_MS_MAX < raw.RECONNECT_AFTER_MS_MIN) {
    problems.push('RECONNECT_AFTER_MS_MAX: must be at least RECONNECT_AFTER_MS_MIN');
  }
  if (raw.DRAIN_PERIOD_MS + raw.CLOSE_GRACE_MS >= raw.DRAIN_TIMEOUT_MS) {
    problems.push('DRAIN_TIMEOUT_MS: must be greater than DRAIN_PERIOD_MS plus CLOSE_GRACE_MS');
  }
  if ((raw.STAFF_TOKEN_SECRET === undefined) !== (raw.RULES_BASE_URL === undefined)) {
    problems.push('STAFF_TOKEN_SECRET and RULES_BASE_URL: set both to enable the back office, or neither');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    brand: raw.BRAND,
    host: raw.HOST,
    port: raw.PORT,
    redisUrl: raw.REDIS_URL,
    amqpUrl: raw.AMQP_URL,
    playerTokenSecret: raw.PLAYER_TOKEN_SECRET,
    wallet: {
      baseUrl: raw.WALLET_BASE_URL,
      apiKey: raw.WALLET_API_KEY,
      timeoutMs: raw.WALLET_TIMEOUT_MS,
      attemptsMax: raw.WALLET_ATTEMPTS_MAX,
      retryDelayMs: raw.WALLET_RETRY_DELAY_MS,
      unavailableHoldMs: raw.WALLET_UNAVAILABLE_HOLD_MS,
    },
    busPrefetch: raw.BUS_PREFETCH,
    dedupTtlSeconds: raw.DEDUP_TTL_SECONDS,
    slowConsumer: {
      bufferPacketsMax: raw.SLOW_CONSUMER_BUFFER_PACKETS_MAX,
      bufferBytesMax: raw.SLOW_CONSUMER_BUFFER_BYTES_MAX,
    },
    drain: {
      periodMs: raw.DRAIN_PERIOD_MS,
      timeoutMs: raw.DRAIN_TIMEOUT_MS,
    },
    closing: {
      reconnectAfterMsMin: raw.RECONNECT_AFTER_MS_MIN,
      reconnectAfterMsMax: raw.RECONNECT_AFTER_MS_MAX,
      graceMs: raw.CLOSE_GRACE_MS,
    },
    backoffice:
      raw.STAFF_TOKEN_SECRET === undefined || raw.RULES_BASE_URL === undefined
        ? undefined
        : {
            staffTokenSecret: raw.STAFF_TOKEN_SECRET,
            rules: { baseUrl: raw.RULES_BASE_URL, timeoutMs: raw.RULES_TIMEOUT_MS },
            watchedPlayersMax: raw.BACKOFFICE_WATCHED_PLAYERS_MAX,
            transactionsLimit: raw.BACKOFFICE_TRANSACTIONS_LIMIT,
            interventionsLimit: raw.BACKOFFICE_INTERVENTIONS_LIMIT,
          },
  };
}
