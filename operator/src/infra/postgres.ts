import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { InfrastructureError } from './errors.js';
import { applyRepairs, type Repair } from './repairs.js';
import { databaseName, databaseRole } from './names.js';
import type { DatabaseDesired, Observation, PostgresTarget, Provisioner } from './types.js';

const { DatabaseError, escapeIdentifier, escapeLiteral } = pg;
const pbkdf2Async = promisify(pbkdf2);

type DatabaseService = keyof DatabaseDesired;
const SERVICES: readonly DatabaseService[] = ['wallet', 'rules'];

/** Schema of the rules service in the brand's database, owned by the rules role. */
export const RULES_SCHEMA = 'rules';

// ---------------------------------------------------------------------------
// SCRAM-SHA-256 verifiers, as PostgreSQL stores them in pg_authid.rolpassword:
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, in base64 (RFC 5802, RFC 7677).

/** Iterations of new verifiers, PostgreSQL's default (`scram_iterations` in 16 and later, fixed before). */
const SCRAM_ITERATIONS = 4096;
/** Salt length of new verifiers, as PostgreSQL generates them. */
const SCRAM_SALT_BYTES = 16;
/** Verifiers with more iterations are treated as a mismatch, so a planted verifier cannot stall `observe`. */
const SCRAM_MAX_ITERATIONS = 1_000_000;

const SCRAM_VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*):([A-Za-z0-9+/]+=*)$/;

async function scramKeys(password: string, salt: Buffer, iterations: number): Promise<{ storedKey: Buffer; serverKey: Buffer }> {
  const saltedPassword = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  return {
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', saltedPassword).update('Server Key').digest(),
  };
}

/**
 * Computes a SCRAM-SHA-256 verifier with a fresh salt. PostgreSQL stores a
 * password given in this form as it is, so the plain password never reaches
 * the server or its statement log.
 */
export async function scramVerifier(password: string): Promise<string> {
  const salt = randomBytes(SCRAM_SALT_BYTES);
  const { storedKey, serverKey } = await scramKeys(password, salt, SCRAM_ITERATIONS);
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Checks a password against a stored verifier by recomputing StoredKey and ServerKey with its salt and iterations. */
export async function scramVerifierMatches(password: string, verifier: string | null): Promise<boolean> {
  const match = verifier === null ? null : SCRAM_VERIFIER.exec(verifier);
  if (match === null) return false;
  const [, iterationsText, saltText, storedText, serverText] = match as unknown as [string, string, string, string, string];
  const iterations = Number(iterationsText);
  if (iterations < 1 || iterations > SCRAM_MAX_ITERATIONS) return false;

  const { storedKey, serverKey } = await scramKeys(password, Buffer.from(saltText, 'base64'), iterations);
  const expectedStored = Buffer.from(storedText, 'base64');
  const expectedServer = Buffer.from(serverText, 'base64');
  return (
    expectedStored.length === storedKey.length &&
    expectedServer.length === serverKey.length &&
    timingSafeEqual(storedKey, expectedStored) &&
    timingSafeEqual(serverKey, expectedServer)
  );
}

/**
 * Clients normalize a password with SASLprep before hashing it, which this
 * module does not implement. SASLprep leaves printable ASCII unchanged, so
 * only such passwords are accepted.
 */
function checkPassword(role: string, password: string): void {
  if (!/^[\x20-\x7e]+$/.test(password)) {
    throw new InfrastructureError(
      'OPERATOR_POSTGRES_FAILED',
      'database',
      false,
      `the password of role ${role} is empty or contains characters outside printable ASCII; generate it from printable ASCII characters`,
    );
  }
}

// ---------------------------------------------------------------------------
// Errors

/** SQLSTATEs after which the same call may succeed later: resources, conflicts, timeouts, object in use. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '55006', '55P03', '57014', '3D000']);

function isRetryableSqlState(code: string): boolean {
  return RETRYABLE_SQLSTATES.has(code) || code.startsWith('53');
}

/** SQLSTATEs that mean the server or the connection went away, not that the statement failed. */
function isConnectionSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/**
 * Checks for the internal error of a catalog row that two sessions updated at
 * once, such as a GRANT by another client during this operator's GRANT. A
 * retry reads the new row, so the error is retryable.
 */
function isConcurrentUpdate(error: InstanceType<typeof DatabaseError>): boolean {
  return error.code === 'XX000' && error.message === 'tuple concurrently updated';
}

function postgresFailure(call: string, error: unknown): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  if (error instanceof DatabaseError && error.code !== undefined) {
    const unreachable = isConnectionSqlState(error.code);
    return new InfrastructureError(
      unreachable ? 'OPERATOR_POSTGRES_UNREACHABLE' : 'OPERATOR_POSTGRES_FAILED',
      'database',
      unreachable || isRetryableSqlState(error.code) || isConcurrentUpdate(error),
      `PostgreSQL ${call} failed: ${error.message} (SQLSTATE ${error.code})`,
      { cause: error },
    );
  }
  // Anything else comes from the socket or the client's connection timeout.
  const detail = error instanceof Error ? error.message : String(error);
  return new InfrastructureError(
    'OPERATOR_POSTGRES_UNREACHABLE',
    'database',
    true,
    `PostgreSQL ${call} failed: ${detail}. Check that PostgreSQL is reachable`,
    { cause: error },
  );
}

// ---------------------------------------------------------------------------
// Privileges

/** A privilege list as `aclexplode` names them, sorted and comma-separated; `*` marks WITH GRANT OPTION. */
type Grants = Map<string, string>;

/** Grantee name, or PUBLIC, and its privileges on each object of `aclColumn`, defaults included. */
function grantsQuery(catalog: 'pg_database' | 'pg_namespace', nameColumn: string, aclColumn: string, ownerColumn: string, kind: 'd' | 'n'): string {
  return `
    SELECT o.${nameColumn} AS object,
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
           string_agg(a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',' ORDER BY a.privilege_type) AS privileges
      FROM ${catalog} o, aclexplode(coalesce(o.${aclColumn}, acldefault('${kind}', o.${ownerColumn}))) a
     WHERE o.${nameColumn} = ANY($1)
     GROUP BY 1, 2`;
}

function granteeSql(grantee: string): string {
  return grantee === 'PUBLIC' ? 'PUBLIC' : escapeIdentifier(grantee);
}

// ---------------------------------------------------------------------------
// Provisioner

/** One difference from the desired state and the statements that remove it. */
interface RoleRow {
  rolcanlogin: boolean;
  rolsuper: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  rolconnlimit: number;
  never_expires: boolean;
  rolpassword: string | null;
  member_of: string[];
}

export interface PostgresProvisionerOptions {
  /** Time limit to open a connection, in milliseconds. */
  connectTimeoutMs?: number;
  /**
   * Server-side time limit of each statement (`statement_timeout`), in
   * milliseconds. A statement that runs out fails with a retryable error.
   */
  statementTimeoutMs?: number;
  /**
   * CONNECTION LIMIT of each brand role. The default of 50 is an estimate:
   * two wallet replicas with the wallet's default pool of 20, plus room for
   * migrations and a rolling update.
   */
  roleConnectionLimit?: number;
}

type Executor = pg.Pool | pg.Client;

/**
 * Provisions a brand's database and its login roles on a shared PostgreSQL
 * cluster (13 or later, for DROP DATABASE ... WITH (FORCE)).
 *
 * The wallet role owns the database and its public schema, because the wallet
 * runs its own migrations at start. The rules role may connect and owns the
 * `rules` schema. PUBLIC keeps no privilege on the database or the public
 * schema, so other brands' roles can neither connect nor create objects.
 *
 * The admin must be a superuser: only superusers can read the password
 * verifiers in pg_authid, which `observe` checks.
 */
export class PostgresProvisioner implements Provisioner<DatabaseDesired> {
  readonly part = 'database' as const;
  private readonly pool: pg.Pool;
  private readonly connectionConfig: pg.ClientConfig;
  private readonly roleConnectionLimit: number;

  constructor(target: PostgresTarget, options: PostgresProvisionerOptions = {}) {
    this.connectionConfig = {
      host: target.host,
      port: target.port,
      database: target.adminDatabase,
      user: target.admin.username,
      password: target.admin.password,
      ssl: target.ssl,
      application_name: 'croupier-operator',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
    };
    this.roleConnectionLimit = options.roleConnectionLimit ?? 50;
    this.pool = new pg.Pool({ ...this.connectionConfig, max: 2, idleTimeoutMillis: 10_000 });
    // An idle connection that the server closes emits here; the next query opens a new one.
    this.pool.on('error', () => undefined);
  }

  async observe(brand: string, desired: DatabaseDesired): Promise<Observation> {
    const repairs = [...(await this.planRoles(brand, desired))];
    const database = await this.planDatabase(brand);
    repairs.push(...database.repairs);
    if (database.exists) {
      repairs.push(...(await this.planDatabaseGrants(brand)));
      await this.withBrandDatabase(brand, async (client) => {
        repairs.push(...(await this.planSchemas(brand, client)));
        repairs.push(...(await this.planSchemaGrants(brand, client)));
      });
    }
    return { drift: repairs.map((repair) => repair.drift) };
  }

  /**
   * Brings roles, database, database grants, schemas and schema grants to the
   * desired state in that order, reading each step's state after the previous
   * step wrote, because owner changes also rewrite grants.
   */
  async ensure(brand: string, desired: DatabaseDesired): Promise<string[]> {
    return this.withBrandLock(brand, async () => {
      const changes: string[] = [];
      changes.push(...(await applyRepairs(await this.planRoles(brand, desired))));
      changes.push(...(await applyRepairs((await this.planDatabase(brand)).repairs)));
      changes.push(...(await applyRepairs(await this.planDatabaseGrants(brand))));
      await this.withBrandDatabase(brand, async (client) => {
        changes.push(...(await applyRepairs(await this.planSchemas(brand, client))));
        changes.push(...(await applyRepairs(await this.planSchemaGrants(brand, client))));
      });
      return changes;
    });
  }

  async remove(brand: string): Promise<void> {
    await this.withBrandLock(brand, () => this.removeLocked(brand));
  }

  private async removeLocked(brand: string): Promise<void> {
    const database = databaseName(brand);
    const roles = SERVICES.map((service) => databaseRole(brand, service));

    // DROP DATABASE fails while sessions are open. WITH (FORCE) also ends
    // sessions that connect between the two statements.
    await this.query(
      this.pool,
      `ending sessions on database ${database}`,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    await this.execute(this.pool, `DROP DATABASE ${database}`, `DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`, ['3D000']);

    // A dropped role's open sessions would keep running, on other databases too.
    await this.query(
      this.pool,
      `ending sessions of roles ${roles.join(', ')}`,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1) AND pid <> pg_backend_pid()',
      [roles],
    );
    for (const role of roles) {
      await this.execute(this.pool, `DROP ROLE ${role}`, `DROP ROLE IF EXISTS ${escapeIdentifier(role)}`, ['42704']);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Runs `work` while holding a session advisory lock for the brand, taken on
   * a connection of its own. Two operator replicas writing the same catalog
   * row at once (GRANT, ALTER ... OWNER) make one fail with "tuple
   * concurrently updated", so their writes to one brand take turns. A replica
   * that waits longer than the statement timeout fails with a retryable error.
   */
  private async withBrandLock<T>(brand: string, work: () => Promise<T>): Promise<T> {
    const key = createHash('sha256').update(`croupier-operator:${brand}`).digest().readBigInt64BE(0).toString();
    const lock = new pg.Client(this.connectionConfig);
    lock.on('error', () => undefined);
    try {
      await lock.connect();
    } catch (error) {
      await lock.end().catch(() => undefined);
      throw postgresFailure(`connect to database ${this.connectionConfig.database ?? ''}`, error);
    }
    try {
      await this.query(lock, `locking brand ${brand}`, 'SELECT pg_advisory_lock($1::bigint)', [key]);
      return await work();
    } finally {
      // Ending the session releases the lock.
      await lock.end().catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------
  // Roles

  private async planRoles(brand: string, desired: DatabaseDesired): Promise<Repair[]> {
    const repairs: Repair[] = [];
    for (const service of SERVICES) {
      repairs.push(...(await this.planRole(databaseRole(brand, service), desired[service].password)));
    }
    return repairs;
  }

  private async planRole(role: string, password: string): Promise<Repair[]> {
    checkPassword(role, password);
    const identifier = escapeIdentifier(role);
    const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT ${this.roleConnectionLimit}`;
    const [row] = await this.query<RoleRow>(
      this.pool,
      `reading role ${role} from pg_authid`,
      `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit,
              (rolvaliduntil IS NULL OR rolvaliduntil = 'infinity') AS never_expires, rolpassword,
              ARRAY(SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = a.oid ORDER BY 1)::text[] AS member_of
         FROM pg_authid a WHERE rolname = $1`,
      [role],
    );

    if (row === undefined) {
      return [
        {
          drift: `role ${role} is missing`,
          change: `created role ${role}`,
          apply: async () => {
            const verifier = await scramVerifier(password);
            // Another operator replica may create the role at the same moment.
            await this.execute(this.pool, `CREATE ROLE ${role}`, `CREATE ROLE ${identifier} WITH ${attributes} PASSWORD ${escapeLiteral(verifier)}`, [
              '42710',
              '23505',
            ]);
          },
        },
      ];
    }

    const repairs: Repair[] = [];
    const attributeProblems = roleAttributeProblems(row, this.roleConnectionLimit);
    if (attributeProblems.length > 0) {
      repairs.push({
        drift: `role ${role}: ${attributeProblems.join('; ')}`,
        change: `reset attributes of role ${role} (${attributeProblems.join('; ')})`,
        apply: () => this.execute(this.pool, `ALTER ROLE ${role} attributes`, `ALTER ROLE ${identifier} WITH ${attributes} VALID UNTIL 'infinity'`),
      });
    }

    if (!(await scramVerifierMatches(password, row.rolpassword))) {
      const reason = row.rolpassword === null ? 'has no password' : 'password does not match';
      repairs.push({
        drift: `role ${role}: ${reason}`,
        change: `set the password of role ${role}`,
        apply: async () => {
          const verifier = await scramVerifier(password);
          await this.execute(this.pool, `ALTER ROLE ${role} PASSWORD`, `ALTER ROLE ${identifier} PASSWORD ${escapeLiteral(verifier)}`);
        },
      });
    }

    for (const group of row.member_of) {
      repairs.push({
        drift: `role ${role} is a member of role ${group}`,
        change: `revoked role ${group} from role ${role}`,
        apply: () => this.execute(this.pool, `REVOKE ${group} FROM ${role}`, `REVOKE ${escapeIdentifier(group)} FROM ${identifier}`),
      });
    }
    return repairs;
  }

  // -------------------------------------------------------------------------
  // Database

  private async planDatabase(brand: string): Promise<{ exists: boolean; repairs: Repair[] }> {
    const database = databaseName(brand);
    const owner = databaseRole(brand, 'wallet');
    const [row] = await this.query<{ owner: string }>(
      this.pool,
      `reading database ${database} from pg_database`,
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [database],
    );

    if (row === undefined) {
      const create: Repair = {
        drift: `database ${database} is missing`,
        change: `created database ${database}`,
        // CREATE DATABASE cannot run in a transaction block; pool queries run
        // outside one. A racing operator replica makes it fail with
        // duplicate_database, or unique_violation when both insert at once.
        apply: () =>
          this.execute(this.pool, `CREATE DATABASE ${database}`, `CREATE DATABASE ${escapeIdentifier(database)} OWNER ${escapeIdentifier(owner)}`, [
            '42P04',
            '23505',
          ]),
      };
      return { exists: false, repairs: [create] };
    }
    if (row.owner === owner) return { exists: true, repairs: [] };

    const changeOwner: Repair = {
      drift: `database ${database} is owned by ${row.owner}, expected ${owner}`,
      change: `changed the owner of database ${database} to ${owner}`,
      apply: () =>
        this.execute(this.pool, `ALTER DATABASE ${database} OWNER`, `ALTER DATABASE ${escapeIdentifier(database)} OWNER TO ${escapeIdentifier(owner)}`),
    };
    return { exists: true, repairs: [changeOwner] };
  }

  /** Plans the database grants: all privileges for the owner, CONNECT for the rules role, none for other roles or PUBLIC. */
  private async planDatabaseGrants(brand: string): Promise<Repair[]> {
    const database = databaseName(brand);
    const expected: Grants = new Map([
      [databaseRole(brand, 'wallet'), 'CONNECT,CREATE,TEMPORARY'],
      [databaseRole(brand, 'rules'), 'CONNECT'],
    ]);
    const rows = await this.query<{ grantee: string; privileges: string }>(
      this.pool,
      `reading the privileges on database ${database}`,
      grantsQuery('pg_database', 'datname', 'datacl', 'datdba', 'd'),
      [[database]],
    );
    const current: Grants = new Map(rows.map((row) => [row.grantee, row.privileges]));
    return this.planGrants(this.pool, 'DATABASE', database, current, expected);
  }

  // -------------------------------------------------------------------------
  // Schemas, in the brand's database

  private async withBrandDatabase(brand: string, work: (client: pg.Client) => Promise<void>): Promise<void> {
    const database = databaseName(brand);
    const client = new pg.Client({ ...this.connectionConfig, database });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw postgresFailure(`connect to database ${database}`, error);
    }
    try {
      await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Plans the schemas: the wallet role owns the public schema, and the rules role owns the rules schema. */
  private async planSchemas(brand: string, client: pg.Client): Promise<Repair[]> {
    const owners = this.schemaOwners(brand);
    const rows = await this.query<{ nspname: string; owner: string }>(
      client,
      `reading schemas of database ${databaseName(brand)}`,
      'SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = ANY($1)',
      [[...owners.keys()]],
    );

    const repairs: Repair[] = [];
    for (const [schema, owner] of owners) {
      const current = rows.find((row) => row.nspname === schema);
      const schemaSql = escapeIdentifier(schema);
      if (current === undefined) {
        repairs.push({
          drift: `schema ${schema} of database ${databaseName(brand)} is missing`,
          change: `created schema ${schema} in database ${databaseName(brand)}`,
          apply: () =>
            this.execute(client, `CREATE SCHEMA ${schema}`, `CREATE SCHEMA IF NOT EXISTS ${schemaSql} AUTHORIZATION ${escapeIdentifier(owner)}`, [
              '42P06',
              '23505',
            ]),
        });
      } else if (current.owner !== owner) {
        repairs.push({
          drift: `schema ${schema} of database ${databaseName(brand)} is owned by ${current.owner}, expected ${owner}`,
          change: `changed the owner of schema ${schema} in database ${databaseName(brand)} to ${owner}`,
          apply: () => this.execute(client, `ALTER SCHEMA ${schema} OWNER`, `ALTER SCHEMA ${schemaSql} OWNER TO ${escapeIdentifier(owner)}`),
        });
      }
    }
    return repairs;
  }

  /** Plans the schema grants: USAGE and CREATE for each schema's owner, none for other roles or PUBLIC. */
  private async planSchemaGrants(brand: string, client: pg.Client): Promise<Repair[]> {
    const owners = this.schemaOwners(brand);
    const rows = await this.query<{ object: string; grantee: string; privileges: string }>(
      client,
      `reading schema privileges in database ${databaseName(brand)}`,
      grantsQuery('pg_namespace', 'nspname', 'nspacl', 'nspowner', 'n'),
      [[...owners.keys()]],
    );

    const repairs: Repair[] = [];
    for (const [schema, owner] of owners) {
      const schemaRows = rows.filter((row) => row.object === schema);
      // A missing schema has no rows; planSchemas reports it and creates it.
      if (schemaRows.length === 0) continue;
      const current: Grants = new Map(schemaRows.map((row) => [row.grantee, row.privileges]));
      const expected: Grants = new Map([[owner, 'CREATE,USAGE']]);
      repairs.push(...this.planGrants(client, 'SCHEMA', schema, current, expected, ` in database ${databaseName(brand)}`));
    }
    return repairs;
  }

  private schemaOwners(brand: string): Map<string, string> {
    return new Map([
      ['public', databaseRole(brand, 'wallet')],
      [RULES_SCHEMA, databaseRole(brand, 'rules')],
    ]);
  }

  // -------------------------------------------------------------------------
  // Helpers

  /**
   * Lists the REVOKE and GRANT statements that turn `current` into
   * `expected`. Grants run as the admin, a superuser, so PostgreSQL records
   * them as granted by the object's owner, which is also whose grants a
   * REVOKE removes.
   */
  private planGrants(
    executor: Executor,
    kind: 'DATABASE' | 'SCHEMA',
    object: string,
    current: Grants,
    expected: Grants,
    where = '',
  ): Repair[] {
    const target = `${kind} ${escapeIdentifier(object)}`;
    const label = `${kind.toLowerCase()} ${object}${where}`;
    const repairs: Repair[] = [];

    for (const [grantee, privileges] of current) {
      if (expected.has(grantee)) continue;
      repairs.push({
        drift: `${grantee} has ${privileges} on ${label}, expected none`,
        change: `revoked all privileges of ${grantee} on ${label}`,
        apply: () => this.execute(executor, `REVOKE ALL ON ${kind} ${object} FROM ${grantee}`, `REVOKE ALL ON ${target} FROM ${granteeSql(grantee)}`),
      });
    }

    for (const [grantee, privileges] of expected) {
      const actual = current.get(grantee);
      if (actual === privileges) continue;
      const granteeText = granteeSql(grantee);
      repairs.push({
        drift: `${grantee} has ${actual ?? 'no privileges'} on ${label}, expected ${privileges}`,
        change: `granted ${privileges} on ${label} to ${grantee}`,
        apply: async () => {
          await this.execute(executor, `REVOKE ALL ON ${kind} ${object} FROM ${grantee}`, `REVOKE ALL ON ${target} FROM ${granteeText}`);
          await this.execute(executor, `GRANT ON ${kind} ${object} TO ${grantee}`, `GRANT ${privileges.replaceAll(',', ', ')} ON ${target} TO ${granteeText}`);
        },
      });
    }

    return repairs;
  }

  private async query<Row>(executor: Executor, call: string, text: string, values: unknown[] = []): Promise<Row[]> {
    try {
      const result = await executor.query(text, values);
      return result.rows as Row[];
    } catch (error) {
      throw postgresFailure(call, error);
    }
  }

  /** Runs one statement. `call` names it in errors and must not contain a secret; `toleratedCodes` are SQLSTATEs that count as done. */
  private async execute(executor: Executor, call: string, text: string, toleratedCodes: readonly string[] = []): Promise<void> {
    try {
      await executor.query(text);
    } catch (error) {
      if (error instanceof DatabaseError && error.code !== undefined && toleratedCodes.includes(error.code)) return;
      throw postgresFailure(call, error);
    }
  }
}

function roleAttributeProblems(row: RoleRow, connectionLimit: number): string[] {
  const problems: string[] = [];
  if (!row.rolcanlogin) problems.push('cannot log in');
  if (row.rolsuper) problems.push('is a superuser');
  if (row.rolcreatedb) problems.push('may create databases');
  if (row.rolcreaterole) problems.push('may create roles');
  if (row.rolreplication) problems.push('may start replication');
  if (row.rolbypassrls) problems.push('bypasses row-level security');
  if (row.rolconnlimit !== connectionLimit) problems.push(`connection limit is ${row.rolconnlimit}, expected ${connectionLimit}`);
  if (!row.never_expires) problems.push('password expires');
  return problems;
}

