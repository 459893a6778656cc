import type pg from 'pg';
import type { Logger } from 'pino';
import { applyMigrations } from '@croupier/shared';

/**
 * Applies the wallet's SQL files in migrations/ that the database has not
 * seen; see applyMigrations for the locking and checksum rules.
 */
export function migrate(pool: pg.Pool, logger: Logger): Promise<number> {
  return applyMigrations(pool, logger, {
    directory: new URL('./migrations/', import.meta.url),
    table: 'schema_migrations',
    lockKey: 4_207_318_115,
    errorCode: 'WALLET_MIGRATION_FAILED',
  });
}
