import { createHash, timingSafeEqual } from 'node:crypto';
import { walletError } from '../errors.js';

export const API_KEY_HEADER = 'x-api-key';

/**
 * Checks licensee API keys. Keys are compared as SHA-256 digests with
 * timingSafeEqual, so neither the content nor the length of a configured key
 * leaks through response timing.
 */
export class ApiKeyVerifier {
  private readonly keyDigests: readonly Buffer[];

  constructor(apiKeys: readonly string[]) {
    this.keyDigests = apiKeys.map(digest);
  }

  /** Throws WALLET_ERR_API_KEY_MISSING or WALLET_ERR_API_KEY_INVALID. */
  verify(header: string | string[] | undefined): void {
    if (header === undefined || header === '') throw walletError('WALLET_ERR_API_KEY_MISSING');
    if (typeof header !== 'string') throw walletError('WALLET_ERR_API_KEY_INVALID');

    const received = digest(header);
    let matched = false;
    for (const keyDigest of this.keyDigests) {
      // No early exit, so the position of the matching key does not show in the timing either.
      matched = timingSafeEqual(keyDigest, received) || matched;
    }
    if (!matched) throw walletError('WALLET_ERR_API_KEY_INVALID');
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
