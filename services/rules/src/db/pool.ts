import pg from 'pg';
import type { Logger } from 'pino';

/** Creates the service's pool. Statements that run longer than statementTimeoutMs are cancelled by the server. */
export function createPool(databaseUrl: string, maxConnections: number, logger: Logger, applicationName = 'rules'): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: maxConnections,
    connectionTimeoutMillis: 5000,
    statement_timeout: 10_000,
    application_name: applicationName,
  });
  // An idle connection that breaks emits here; without a listener the process would exit.
  pool.on('error', (error) => {
    logger.warn({ err: error }, 'idle database connection failed; the pool replaces it');
  });
  return pool;
}

/** Runs `work` in a transaction and rolls back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let releaseError: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      releaseError = rollbackError as Error;
    });
    throw error;
  } finally {
    client.release(releaseError);
  }
}
