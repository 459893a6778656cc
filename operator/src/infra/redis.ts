import { createHash } from 'node:crypto';
import { BRAND_REDIS_COMMANDS, brandRedisPrefix, socketIoAdapterKey } from '@croupier/shared';
import { BACKOFFICE_NAMESPACE, PLAYER_NAMESPACE } from '@croupier/shared/contracts';
import { Redis } from 'ioredis';
import { InfrastructureError } from './errors.js';
import { applyRepairs, type Repair } from './repairs.js';
import { redisUser } from './names.js';
import type { CacheDesired, Credential, Observation, Provisioner, RedisTarget } from './types.js';

type CacheService = keyof CacheDesired;
const SERVICES: readonly CacheService[] = ['gateway', 'rules'];

/**
 * Commands a brand's Redis users may run. For the push gateway:
 *
 * - ioredis on every connect: CLIENT SETNAME (the connection name) and INFO
 *   (the ready check). INFO is in the `@dangerous` category because it shows
 *   server-wide figures such as memory, client counts and key counts per
 *   database, but no keys or values. Without it ioredis skips the ready check
 *   with a warning on every connect.
 * - the deduplicator: SET (with NX and EX), GET and DEL.
 * - the socket.io Redis adapter 8.3: PUBLISH, SUBSCRIBE, UNSUBSCRIBE,
 *   PSUBSCRIBE, PUNSUBSCRIBE and PUBSUB NUMSUB.
 *
 * AUTH and QUIT need no permission. Neither ioredis nor the gateway sends
 * PING, so it is not granted.
 *
 * NOTE: ioredis also sends CLIENT SETINFO, which Redis 7.2 added. Redis 7.0
 * rejects `+client|setinfo` as an unknown command, so it is not granted, and
 * on Redis 7.2 and later each connect leaves a NOPERM entry in ACL LOG,
 * which ioredis ignores.
 *
 * The command lists live in `@croupier/shared` (BRAND_REDIS_COMMANDS), next
 * to the services that use them; Redis checks each command a Lua script runs
 * against the same ACL user, so the key prefix applies inside scripts too.
 */

/** Namespaces of the gateway's socket.io server: the default one, always created, the players' and the staff's. */
const GATEWAY_SOCKET_IO_NAMESPACES = ['/', PLAYER_NAMESPACE, BACKOFFICE_NAMESPACE];

/**
 * Returns the channel patterns of a service's user. Redis accepts a
 * PSUBSCRIBE only when its pattern equals one of the user's channel patterns,
 * and rejects a narrower pattern under `prefix*` with NOPERM. So the gateway
 * also gets the pattern that its socket.io adapter subscribes to in each
 * namespace, `<key>#<namespace>#*`, with the key from `socketIoAdapterKey`
 * that the gateway uses too. These patterns lie inside the brand's prefix.
 */
export function channelPatterns(brand: string, service: CacheService): string[] {
  const prefix = brandRedisPrefix(brand);
  const patterns = [`${prefix}*`];
  if (service === 'gateway') {
    for (const namespace of GATEWAY_SOCKET_IO_NAMESPACES) patterns.push(`${socketIoAdapterKey(brand)}#${namespace}#*`);
  }
  return patterns;
}

export function keyPatterns(brand: string): string[] {
  return [`${brandRedisPrefix(brand)}*`];
}

/** Keys per UNLINK when `remove` deletes a brand's keys. */
const UNLINK_BATCH_SIZE = 500;
/** COUNT hint of each SCAN call of `remove`. */
const SCAN_COUNT = 1000;

function sha256Hex(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

/** Escapes the glob characters of Redis MATCH patterns. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** The ACL GETUSER fields this provisioner compares, as Redis 7 returns them. */
interface AclUser {
  flags: string[];
  passwords: string[];
  commands: string;
  keys: string;
  channels: string;
  selectors: unknown[];
}

/** One difference from the desired state and the write that removes it. */
export interface RedisProvisionerOptions {
  /** Time limit to open the admin connection, in milliseconds. */
  connectTimeoutMs?: number;
  /** Time limit of each command, in milliseconds. */
  commandTimeoutMs?: number;
}

/**
 * Provisions a brand's Redis ACL users, each limited to the brand's key and
 * channel prefix, through an admin connection.
 *
 * NOTE: the shared Redis has no ACL file, so ACL SETUSER changes live in
 * memory only and a Redis restart loses the brand users. `observe` then
 * reports them missing and `ensure` recreates them. The reconciler's periodic
 * resync is what restores them, and until it runs the services fail to
 * authenticate.
 */
export class RedisProvisioner implements Provisioner<CacheDesired> {
  readonly part = 'cache' as const;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private client: Promise<Redis> | undefined;

  constructor(
    private readonly target: RedisTarget,
    options: RedisProvisionerOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5000;
  }

  async observe(brand: string, desired: CacheDesired): Promise<Observation> {
    const repairs = await this.plan(brand, desired);
    return { drift: repairs.map((repair) => repair.drift) };
  }

  async ensure(brand: string, desired: CacheDesired): Promise<string[]> {
    return applyRepairs(await this.plan(brand, desired));
  }

  /**
   * Deletes the brand's ACL users, which disconnects their clients, and then
   * the brand's keys, so no client of the brand writes keys behind the scan.
   */
  async remove(brand: string): Promise<void> {
    const users = SERVICES.map((service) => redisUser(brand, service));
    await this.run(`ACL DELUSER ${users.join(' ')}`, (redis) => redis.call('ACL', 'DELUSER', ...users));

    const match = `${escapeGlob(brandRedisPrefix(brand))}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.run(`SCAN ${cursor} MATCH ${match}`, (redis) =>
        redis.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT),
      );
      for (let start = 0; start < keys.length; start += UNLINK_BATCH_SIZE) {
        const batch = keys.slice(start, start + UNLINK_BATCH_SIZE);
        await this.run(`UNLINK of ${batch.length} keys under ${brandRedisPrefix(brand)}`, (redis) => redis.unlink(...batch));
      }
      cursor = next;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    const pending = this.client;
    this.client = undefined;
    if (pending === undefined) return;
    const redis = await pending.catch(() => undefined);
    if (redis === undefined) return;
    await redis.quit().catch(() => undefined);
    redis.disconnect();
  }

  private async plan(brand: string, desired: CacheDesired): Promise<Repair[]> {
    const repairs: Repair[] = [];
    for (const service of SERVICES) {
      const repair = await this.planUser(brand, service, desired[service]);
      if (repair !== undefined) repairs.push(repair);
    }
    return repairs;
  }

  private async planUser(brand: string, service: CacheService, credential: Credential): Promise<Repair | undefined> {
    const user = redisUser(brand, service);
    const passwordHash = sha256Hex(credential.password);
    const expected = {
      keys: keyPatterns(brand).map((pattern) => `~${pattern}`),
      channels: channelPatterns(brand, service).map((pattern) => `&${pattern}`),
      commands: ['-@all', ...BRAND_REDIS_COMMANDS[service].map((command) => `+${command}`)],
    };

    const reply = await this.run(`ACL GETUSER ${user}`, (redis) => redis.call('ACL', 'GETUSER', user));
    const current = reply === null ? undefined : parseAclUser(reply);
    const problems = current === undefined ? [] : aclDifferences(current, passwordHash, expected);
    if (current !== undefined && problems.length === 0) return undefined;

    // `reset` clears every earlier rule, password and selector, so the user
    // ends up with exactly these. The password goes as its SHA-256 (`#`), as
    // Redis stores it.
    const rules = ['reset', 'on', `#${passwordHash}`, ...expected.keys, ...expected.channels, ...expected.commands];
    return {
      drift: current === undefined ? `ACL user ${user} is missing` : `ACL user ${user}: ${problems.join('; ')}`,
      change: current === undefined ? `created ACL user ${user}` : `reset ACL user ${user} (${problems.join('; ')})`,
      apply: async () => {
        await this.run(`ACL SETUSER ${user}`, (redis) => redis.call('ACL', 'SETUSER', user, ...rules));
      },
    };
  }

  /** Runs one admin command, turning failures into InfrastructureError. `call` names the command and never contains a secret. */
  private async run<T>(call: string, command: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = await this.connect();
    try {
      return await command(redis);
    } catch (error) {
      if (isReplyError(error)) throw replyFailure(call, error);
      this.discard(redis);
      throw unreachable(`${call} on ${this.address()}`, error);
    }
  }

  /** Returns the admin connection, opening it when there is none or the last one failed. */
  private connect(): Promise<Redis> {
    this.client ??= this.open().catch((error: unknown) => {
      this.client = undefined;
      throw error;
    });
    return this.client;
  }

  private async open(): Promise<Redis> {
    const { host, port, admin, tls } = this.target;
    // The retry strategy turns reconnects off. A failed command drops the
    // client and the next call opens a new one, so a reconcile pass fails fast
    // and the reconciler decides when to retry.
    const redis = new Redis({
      host,
      port,
      username: admin.username === '' ? undefined : admin.username,
      password: admin.password === '' ? undefined : admin.password,
      tls: tls ? { servername: host } : undefined,
      connectionName: 'croupier-operator',
      lazyConnect: true,
      connectTimeout: this.connectTimeoutMs,
      commandTimeout: this.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // Failures reach the caller through the rejected connect or command. A
    // rejected AUTH is the exception: connect() then rejects with "Connection
    // is closed", and only this listener receives the server's reply.
    let lastError: unknown;
    redis.on('error', (error: unknown) => {
      lastError = error;
    });
    try {
      await redis.connect();
      return redis;
    } catch (error) {
      redis.disconnect();
      if (isReplyError(lastError)) throw replyFailure(`AUTH on ${this.address()}`, lastError);
      throw unreachable(`connect to ${this.address()}`, error);
    }
  }

  private discard(redis: Redis): void {
    redis.disconnect();
    this.client = undefined;
  }

  private address(): string {
    return `${this.target.host}:${this.target.port}`;
  }
}

/** Parses the flat field/value array of ACL GETUSER. */
function parseAclUser(reply: unknown): AclUser {
  const fields = new Map<string, unknown>();
  const items = reply as unknown[];
  for (let index = 0; index + 1 < items.length; index += 2) fields.set(String(items[index]), items[index + 1]);
  return {
    flags: (fields.get('flags') as string[] | undefined) ?? [],
    passwords: (fields.get('passwords') as string[] | undefined) ?? [],
    commands: (fields.get('commands') as string | undefined) ?? '',
    keys: (fields.get('keys') as string | undefined) ?? '',
    channels: (fields.get('channels') as string | undefined) ?? '',
    selectors: (fields.get('selectors') as unknown[] | undefined) ?? [],
  };
}

/** Lists how `current` differs from the expected rules. Redis reorders rules, so lists compare as sets. */
function aclDifferences(
  current: AclUser,
  passwordHash: string,
  expected: { keys: string[]; channels: string[]; commands: string[] },
): string[] {
  const problems: string[] = [];
  if (!current.flags.includes('on')) problems.push('is disabled');
  if (current.flags.includes('nopass')) problems.push('accepts any password (nopass)');
  if (current.passwords.length !== 1) problems.push(`has ${current.passwords.length} passwords, expected 1`);
  else if (current.passwords[0] !== passwordHash) problems.push('password does not match');

  const compare = (name: string, actual: string, wanted: string[]): void => {
    if (!sameSet(actual.split(' ').filter((token) => token !== ''), wanted)) {
      problems.push(`${name} are '${actual}', expected '${wanted.join(' ')}'`);
    }
  };
  compare('key patterns', current.keys, expected.keys);
  compare('channel patterns', current.channels, expected.channels);
  compare('command rules', current.commands, expected.commands);
  if (current.selectors.length > 0) problems.push(`has ${current.selectors.length} selectors, expected none`);
  return problems;
}

function sameSet(actual: string[], expected: string[]): boolean {
  const wanted = new Set(expected);
  return actual.length === wanted.size && actual.every((item) => wanted.has(item));
}

/** Reply errors that Redis returns while it cannot serve yet, which pass on their own. */
const TRANSIENT_REPLY_PREFIXES = ['LOADING', 'BUSY', 'TRYAGAIN', 'MASTERDOWN', 'CLUSTERDOWN'];

/** Tells an error reply of the server from a connection failure. ioredis types its ReplyError class as `any`, so the name is checked. */
function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

function replyFailure(call: string, error: Error): InfrastructureError {
  const retryable = TRANSIENT_REPLY_PREFIXES.some((prefix) => error.message.startsWith(prefix));
  return new InfrastructureError(
    'OPERATOR_REDIS_COMMAND_FAILED',
    'cache',
    retryable,
    `Redis ${call} failed: ${error.message}`,
    { cause: error },
  );
}

function unreachable(call: string, error: unknown): InfrastructureError {
  const detail = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
  return new InfrastructureError(
    'OPERATOR_REDIS_UNREACHABLE',
    'cache',
    true,
    `Redis ${call} failed: ${detail}. Check that Redis is reachable`,
    { cause: error },
  );
}
