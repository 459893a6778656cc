import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from 'pino';

const MIGRATIONS_DIRECTORY = new URL('./migrations/', import.meta.url);
const MIGRATION_FILE_PATTERN = /^(\d{3})_[a-z0-9_]+\.sql$/;

/** Arbitrary constant that identifies the rules migration lock among advisory locks. */
const MIGRATION_LOCK_KEY = 5_318_402_977;

export class MigrationError extends Error {
  readonly code = 'RULES_MIGRATION_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/**
 * Applies the SQL files in migrations/ that the schema `rules` has not seen,
 * in version order, each in its own transaction, under an advisory lock so
 * that concurrent replicas apply each once. The schema itself must exist: the
 * operator creates it and the rules role cannot create schemas.
 */
export async function migrate(pool: pg.Pool, logger: Logger): Promise<number> {
  const migrations = await loadMigrations();
  const client = await pool.connect();
  try {
    const schema = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = 'rules'");
    if (schema.rowCount === 0) {
      throw new MigrationError('schema rules does not exist in the database; the operator creates it for the rules role');
    }
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS rules.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = await client.query<{ version: number; checksum: string }>('SELECT version, checksum FROM rules.schema_migrations');
    const appliedChecksums = new Map(applied.rows.map((row) => [row.version, row.checksum]));

    let appliedCount = 0;
    for (const migration of migrations) {
      const checksum = appliedChecksums.get(migration.version);
      if (checksum === undefined) {
        await applyMigration(client, migration);
        logger.info({ version: migration.version, migration: migration.name }, 'applied database migration');
        appliedCount += 1;
      } else if (checksum !== migration.checksum) {
        throw new MigrationError(
          `migration ${migration.name} was applied with different content; add a new migration file instead of editing it`,
        );
      }
    }
    return appliedCount;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}

async function applyMigration(client: pg.PoolClient, migration: Migration): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(migration.sql);
    await client.query('INSERT INTO rules.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
  }
}

async function loadMigrations(): Promise<Migration[]> {
  const names = (await readdir(MIGRATIONS_DIRECTORY)).filter((name) => MIGRATION_FILE_PATTERN.test(name)).sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const sql = await readFile(new URL(name, MIGRATIONS_DIRECTORY), 'utf8');
    migrations.push({
      version: Number(MIGRATION_FILE_PATTERN.exec(name)?.[1]),
      name,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}
