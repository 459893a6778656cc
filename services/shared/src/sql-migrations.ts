import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';

/**
 * Applies a service's numbered SQL files (`001_name.sql`, ...) that its
 * database has not seen, in version order, each in its own transaction. A
 * session advisory lock makes concurrent replicas apply each file once; the
 * others wait, then find nothing to do. An applied file whose content changed
 * stops the start, because editing an applied migration never reaches
 * databases that already ran it.
 */

const MIGRATION_FILE_PATTERN = /^(\d{3})_[a-z0-9_]+\.sql$/;

/** The part of a pg Pool this module uses, so that the shared package needs no pg dependency. */
export interface MigrationPool {
  connect(): Promise<MigrationClient>;
}
export interface MigrationClient {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
  release(): void;
}

export interface MigrationSettings {
  /** Directory of the SQL files, as a file URL ending in `/`. */
  directory: URL;
  /** Table that records applied versions, schema-qualified when needed. */
  table: string;
  /** Arbitrary constant that identifies this service's lock among advisory locks. */
  lockKey: number;
  /** Error code of a failed migration, such as `WALLET_MIGRATION_FAILED`. */
  errorCode: string;
}

export class MigrationError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
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

/** Returns how many files were applied. */
export async function applyMigrations(pool: MigrationPool, logger: Logger, settings: MigrationSettings): Promise<number> {
  const migrations = await loadMigrations(settings.directory);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [settings.lockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${settings.table} (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = await client.query<{ version: number; checksum: string }>(`SELECT version, checksum FROM ${settings.table}`);
    const appliedChecksums = new Map(applied.rows.map((row) => [row.version, row.checksum]));

    let appliedCount = 0;
    for (const migration of migrations) {
      const checksum = appliedChecksums.get(migration.version);
      if (checksum === undefined) {
        await applyMigration(client, migration, settings);
        logger.info({ version: migration.version, migration: migration.name }, 'applied database migration');
        appliedCount += 1;
      } else if (checksum !== migration.checksum) {
        throw new MigrationError(
          settings.errorCode,
          `migration ${migration.name} was applied with different content; add a new migration file instead of editing it`,
        );
      }
    }
    return appliedCount;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [settings.lockKey]).catch(() => undefined);
    client.release();
  }
}

async function applyMigration(client: MigrationClient, migration: Migration, settings: MigrationSettings): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(migration.sql);
    await client.query(`INSERT INTO ${settings.table} (version, name, checksum) VALUES ($1, $2, $3)`, [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(settings.errorCode, `migration ${migration.name} failed: ${(error as Error).message}`);
  }
}

async function loadMigrations(directory: URL): Promise<Migration[]> {
  const names = (await readdir(directory)).filter((name) => MIGRATION_FILE_PATTERN.test(name)).sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const sql = await readFile(new URL(name, directory), 'utf8');
    migrations.push({
      version: Number(MIGRATION_FILE_PATTERN.exec(name)?.[1]),
      name,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}
