/**
 * Key and channel prefix of one brand in the shared Redis. The brand's Redis
 * ACL users, provisioned by the operator, may touch only keys and channels
 * under this prefix.
 */
export function brandRedisPrefix(brand: string): string {
  return `croupier:${brand}:`;
}
