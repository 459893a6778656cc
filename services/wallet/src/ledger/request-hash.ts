import { createHash } from 'node:crypto';

/**
 * Hashes the meaning of a request: the operation and its fields in a fixed
 * order, with the amount in minor units, so "12.5" and "12.50" are the same
 * request while any other change makes the idempotency key a duplicate.
 */
export function hashRequest(operation: string, fields: readonly (string | number | boolean | null)[]): string {
  return createHash('sha256').update(JSON.stringify([operation, ...fields])).digest('hex');
}
