import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig } from '../../src/config.js';

const MAIN_PATH = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const STARTUP_TIMEOUT_MS = 20_000;

/** A gateway replica running `src/main.ts` in a child process, as in production. */
export interface GatewayProcess {
  port: number;
  url: string;
  child: ChildProcess;
  /** JSON log lines written so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  kill(): void;
}

/** Turns a gateway config into the environment variables that `readGatewayConfig` reads. */
export function toGatewayEnv(config: GatewayConfig): Record<string, string> {
  return {
    BRAND: config.brand,
    HOST: config.host,
    PORT: String(config.port),
    REDIS_URL: config.redisUrl,
    AMQP_URL: config.amqpUrl,
    PLAYER_TOKEN_SECRET: config.playerTokenSecret,
    WALLET_BASE_URL: config.wallet.baseUrl,
    WALLET_API_KEY: config.wallet.apiKey,
    WALLET_TIMEOUT_MS: String(config.wallet.timeoutMs),
    WALLET_ATTEMPTS_MAX: String(config.wallet.attemptsMax),
    WALLET_RETRY_DELAY_MS: String(config.wallet.retryDelayMs),
    WALLET_UNAVAILABLE_HOLD_MS: String(config.wallet.unavailableHoldMs),
    BUS_PREFETCH: String(config.busPrefetch),
    DEDUP_TTL_SECONDS: String(config.dedupTtlSeconds),
    SLOW_CONSUMER_BUFFER_PACKETS_MAX: String(config.slowConsumer.bufferPacketsMax),
    SLOW_CONSUMER_BUFFER_BYTES_MAX: String(config.slowConsumer.bufferBytesMax),
    DRAIN_PERIOD_MS: String(config.drain.periodMs),
    DRAIN_TIMEOUT_MS: String(config.drain.timeoutMs),
    RECONNECT_AFTER_MS_MIN: String(config.closing.reconnectAfterMsMin),
    RECONNECT_AFTER_MS_MAX: String(config.closing.reconnectAfterMsMax),
    CLOSE_GRACE_MS: String(config.closing.graceMs),
  };
}

export async function spawnGateway(config: GatewayConfig): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN_PATH], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...toGatewayEnv(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway process did not listen within ${STARTUP_TIMEOUT_MS} ms: ${stderr}`)), STARTUP_TIMEOUT_MS);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway process exited with ${code} before listening: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = parseLogLine(line);
      logs.push(entry);
      if (entry.msg === 'push gateway listening' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  });

  return {
    port,
    url: `http://${config.host}:${port}`,
    child,
    logs,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function parseLogLine(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { msg: line };
  }
}
