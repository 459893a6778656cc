import type pg from 'pg';
import type { Logger } from 'pino';
import { applyMigrations, MigrationError } from '@croupier/shared';

const ERROR_CODE = 'RULES_MIGRATION_FAILED';

/**
 * Applies the rules service's SQL files in migrations/ that the schema
 * `rules` has not seen; see applyMigrations for the locking and checksum
 * rules. The schema itself must exist: the operator creates it, and the
 * rules role cannot create schemas.
 */
export async function migrate(pool: pg.Pool, logger: Logger): Promise<number> {
  const schema = await pool.query("SELECT 1 FROM pg_namespace WHERE nspname = 'rules'");
  if (schema.rowCount === 0) {
    throw new MigrationError(ERROR_CODE, 'schema rules does not exist in the database; the operator creates it for the rules role');
  }
  return applyMigrations(pool, logger, {
    directory: new URL('./migrations/', import.meta.url),
    table: 'rules.schema_migrations',
    lockKey: 5_318_402_977,
    errorCode: ERROR_CODE,
  });
}
