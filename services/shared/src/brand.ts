/**
 * Key and channel prefix of one brand in the shared Redis. The brand's Redis
 * ACL users, provisioned by the operator, may touch only keys and channels
 * under this prefix.
 */
export function brandRedisPrefix(brand: string): string {
  return `croupier:${brand}:`;
}

/**
 * Key of the push gateway's socket.io Redis adapter. The adapter subscribes to
 * the pattern `<key>#<namespace>#*`, and Redis lets a user PSUBSCRIBE only to a
 * pattern listed in its ACL, so the operator grants exactly these patterns.
 */
export function socketIoAdapterKey(brand: string): string {
  return `${brandRedisPrefix(brand)}socket.io`;
}

/**
 * Redis commands each brand service may run, granted to its ACL user by the
 * operator. A service that starts using another command must add it here, or
 * its tests (which run as such a user) and the brand in a cluster fail with
 * NOPERM. `info` is in Redis's `@dangerous` category: ioredis runs it as its
 * ready check, and it shows server-wide figures but no keys or values.
 */
const CONNECTION_COMMANDS = ['client|setname', 'info'] as const;

export const BRAND_REDIS_COMMANDS = {
  /** The deduplicator (SET NX EX, GET, DEL) and the socket.io Redis adapter's pub/sub. */
  gateway: [...CONNECTION_COMMANDS, 'get', 'set', 'del', 'publish', 'subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'pubsub|numsub'],
  /** One Lua script per event (EVAL, then EVALSHA) over sorted sets of windowed entries. */
  rules: [...CONNECTION_COMMANDS, 'get', 'set', 'eval', 'evalsha', 'zadd', 'zrange', 'zrangebyscore', 'zremrangebyscore', 'pexpire'],
} as const satisfies Record<'gateway' | 'rules', readonly string[]>;
