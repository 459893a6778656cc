import { toUnavailableError } from './errors.js';
import type { LedgerStore } from '../ledger/store.js';

/** Runs a query and turns connection failures into WALLET_ERR_UNAVAILABLE. */
export async function query<Row extends object>(store: LedgerStore, text: string, values: unknown[]): Promise<Row[]> {
  try {
    const result = await store.pool.query<Row>(text, values);
    return result.rows;
  } catch (error) {
    throw toUnavailableError(error) ?? error;
  }
}
