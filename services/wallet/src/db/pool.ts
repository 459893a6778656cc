import pg from 'pg';
import type { Logger } from 'pino';

export interface PoolSettings {
  databaseUrl: string;
  maxConnections: number;
  connectionTimeoutMs: number;
  statementTimeoutMs: number;
  applicationName: string;
}

/**
 * Creates the request pool. A request waits at most connectionTimeoutMs for a
 * free connection (then the route returns 503), and the server cancels any
 * statement after statementTimeoutMs, which rolls the whole operation back.
 */
export function createPool(settings: PoolSettings, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: settings.databaseUrl,
    max: settings.maxConnections,
    connectionTimeoutMillis: settings.connectionTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    application_name: settings.applicationName,
  });
  // An idle connection that breaks emits here; without a listener the process would exit.
  pool.on('error', (error) => {
    logger.warn({ err: error }, 'idle database connection failed; the pool replaces it');
  });
  return pool;
}
