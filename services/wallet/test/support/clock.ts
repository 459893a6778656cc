import type pg from 'pg';

export interface WalletClock {
  /** Sets the time that wallet_now() returns to every later query of the pool; null returns to the real time. */
  set(time: string | null): void;
}

/**
 * Moves the wallet's SQL clock for the queries that go through `pool.query`:
 * each runs on a checked-out connection right after the session setting
 * wallet.clock is set to the chosen time ('' for the real time).
 */
export function controlWalletClock(pool: pg.Pool): WalletClock {
  let time = '';
  const runWithClock = async (...args: unknown[]): Promise<unknown> => {
    const client = await pool.connect();
    try {
      await client.query("SELECT set_config('wallet.clock', $1, false)", [time]);
      const result: unknown = await (client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
      client.release();
      return result;
    } catch (error) {
      // A failed connection must not go back to the pool; a failed statement leaves it usable.
      client.release(error instanceof Error && !('code' in error) ? error : undefined);
      throw error;
    }
  };
  pool.query = runWithClock as typeof pool.query;
  return {
    set: (next) => {
      time = next ?? '';
    },
  };
}
