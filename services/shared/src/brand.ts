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
