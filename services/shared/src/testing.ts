import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { deleteVhost, ensureVhost, vhostAmqpUrl } from './bus/vhost.js';

/**
 * Helpers for tests that run against the real PostgreSQL, RabbitMQ and Redis
 * started by `scripts/infra.sh up`.
 */
export interface InfraSettings {
  pgUrl: string;
  amqpUrl: string;
  managementUrl: string;
  redisUrl: string;
}

export function infraSettings(env: NodeJS.ProcessEnv = process.env): InfraSettings {
  const required = ['PGURL', 'AMQP_URL', 'RABBITMQ_MANAGEMENT_URL', 'REDIS_URL'] as const;
  const missing = required.filter((name) => env[name] === undefined || env[name] === '');
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(', ')}: start the infrastructure with 'scripts/infra.sh up' and load it with 'eval "$(scripts/infra.sh env)"'`,
    );
  }
  return {
    pgUrl: env.PGURL as string,
    amqpUrl: env.AMQP_URL as string,
    managementUrl: env.RABBITMQ_MANAGEMENT_URL as string,
    redisUrl: env.REDIS_URL as string,
  };
}

/** Returns a brand id unique to one test, safe as a vhost, database and key prefix. */
export function uniqueBrand(prefix = 'test'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Creates a vhost for a test brand and returns its AMQP URL and a cleanup function. */
export async function createTestVhost(
  settings: InfraSettings,
  brand: string,
): Promise<{ amqpUrl: string; remove: () => Promise<void> }> {
  const user = decodeURIComponent(new URL(settings.amqpUrl).username);
  await ensureVhost(settings.managementUrl, brand, user);
  return {
    amqpUrl: vhostAmqpUrl(settings.amqpUrl, brand),
    remove: () => deleteVhost(settings.managementUrl, brand),
  };
}

/** Asks the kernel for a free loopback port. Another process may take it before use, which start-up then reports. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Calls `probe` until it returns a value other than undefined or false, and
 * returns that value. Throws after `timeoutMs`, naming what was awaited.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  description: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
