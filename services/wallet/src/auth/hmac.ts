import { createHmac, timingSafeEqual } from 'node:crypto';
import { walletError } from '../errors.js';

export const SIGNATURE_HEADER = 'x-croupier-signature';
const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i;

/** Computes the header value for a body: `sha256=<hex HMAC-SHA256 of the raw bytes>`. */
export function signBody(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/**
 * Checks the signature header against the raw request bytes in constant time.
 * Throws WALLET_ERR_SIGNATURE_MISSING or WALLET_ERR_SIGNATURE_INVALID.
 */
export function verifySignature(secret: string, rawBody: Buffer, header: string | string[] | undefined): void {
  if (header === undefined || header === '') throw walletError('WALLET_ERR_SIGNATURE_MISSING');
  const match = typeof header === 'string' ? SIGNATURE_PATTERN.exec(header.trim()) : null;
  if (match?.[1] === undefined) throw walletError('WALLET_ERR_SIGNATURE_INVALID');

  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const received = Buffer.from(match[1], 'hex');
  if (!timingSafeEqual(expected, received)) throw walletError('WALLET_ERR_SIGNATURE_INVALID');
}
