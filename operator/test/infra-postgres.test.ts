import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { findFreePort, infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { InfrastructureError } from '../src/infra/errors.js';
import { databaseName, databaseRole } from '../src/infra/names.js';
import { PostgresProvisioner, scramVerifierMatches } from '../src/infra/postgres.js';
import type { DatabaseDesired, PostgresTarget } from '../src/infra/types.js';

const adminUrl = new URL(infraSettings().pgUrl);
const target: PostgresTarget = {
  host: adminUrl.hostname,
  port: Number(adminUrl.port),
  admin: { username: decodeURIComponent(adminUrl.username), password: decodeURIComponent(adminUrl.password) },
  adminDatabase: adminUrl.pathname.slice(1) || 'postgres',
  ssl: false,
};

function desiredFor(): DatabaseDesired {
  const credential = (service: string) => ({ username: service, password: randomBytes(18).toString('base64url') });
  return { wallet: credential('wallet'), rules: credential('rules') };
}

/** Connects to `database` as `user`; the caller ends the client. */
async function connectAs(user: string, password: string, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: target.host, port: target.port, user, password, database, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

async function withClient<T>(user: string, password: string, database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectAs(user, password, database);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL provisioner', () => {
  const brands: string[] = [];
  let provisioner: PostgresProvisioner;
  let admin: pg.Pool;

  function newBrand(): string {
    const brand = uniqueBrand('op-pg');
    brands.push(brand);
    return brand;
  }

  /** Runs a statement as the admin in the brand's database. */
  async function inBrandDatabase<T extends pg.QueryResultRow>(brand: string, text: string, values: unknown[] = []): Promise<T[]> {
    return withClient(target.admin.username, target.admin.password, databaseName(brand), async (client) => (await client.query<T>(text, values)).rows);
  }

  /**
   * Catalog rows the provisioner writes, with xmin, which changes with every
   * update of a row: role attributes and passwords, the database's owner and
   * grants, and the schemas' owners and grants.
   */
  async function catalogSnapshot(brand: string): Promise<unknown> {
    const roles = await admin.query(
      'SELECT rolname, xmin::text, rolpassword FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname',
      [[databaseRole(brand, 'wallet'), databaseRole(brand, 'rules')]],
    );
    const database = await admin.query('SELECT xmin::text, datacl::text FROM pg_database WHERE datname = $1', [databaseName(brand)]);
    const schemas = await inBrandDatabase(brand, "SELECT nspname, xmin::text, nspacl::text FROM pg_namespace WHERE nspname IN ('public', 'rules') ORDER BY 1");
    return { roles: roles.rows, database: database.rows, schemas };
  }

  before(() => {
    provisioner = new PostgresProvisioner(target, { connectTimeoutMs: 2000, statementTimeoutMs: 30_000 });
    admin = new pg.Pool({ connectionString: adminUrl.toString(), max: 2 });
  });

  after(async () => {
    for (const brand of brands) await provisioner.remove(brand);
    await provisioner.close();
    await admin.end();
  });

  it('creates roles, database and schemas', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    const database = databaseName(brand);
    const wallet = databaseRole(brand, 'wallet');
    const rules = databaseRole(brand, 'rules');

    const changes = await provisioner.ensure(brand, desired);

    for (const change of [`created role ${wallet}`, `created role ${rules}`, `created database ${database}`, `created schema rules in database ${database}`]) {
      assert.ok(changes.includes(change), `changes contain "${change}"; changes: ${changes.join(' | ')}`);
    }

    const roles = await admin.query(
      `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit, rolpassword
         FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname`,
      [[wallet, rules]],
    );
    assert.equal(roles.rows.length, 2, 'both roles exist');
    for (const role of roles.rows) {
      assert.equal(role.rolcanlogin, true, `${role.rolname} can log in`);
      for (const attribute of ['rolsuper', 'rolcreatedb', 'rolcreaterole', 'rolreplication', 'rolbypassrls']) {
        assert.equal(role[attribute], false, `${role.rolname} ${attribute}`);
      }
      assert.equal(role.rolconnlimit, 50, `${role.rolname} connection limit`);
      assert.match(role.rolpassword, /^SCRAM-SHA-256\$4096:/, `${role.rolname} has a SCRAM verifier`);
    }

    const [owner] = (await admin.query('SELECT pg_get_userbyid(datdba) AS owner, datacl::text AS acl FROM pg_database WHERE datname = $1', [database])).rows;
    assert.equal(owner.owner, wallet, 'the wallet role owns the database');
    assert.doesNotMatch(owner.acl, /(^\{|,)=/, 'PUBLIC has no privilege on the database');

    const schemas = await inBrandDatabase<{ nspname: string; owner: string; acl: string }>(
      brand,
      "SELECT nspname, pg_get_userbyid(nspowner) AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname IN ('public', 'rules') ORDER BY 1",
    );
    assert.deepEqual(
      schemas.map((schema) => [schema.nspname, schema.owner]),
      [
        ['public', wallet],
        ['rules', rules],
      ],
    );
    assert.doesNotMatch(schemas[0]?.acl ?? '', /(^\{|,)=/, 'PUBLIC has no privilege on schema public');
  });

  it('second ensure writes nothing', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    const before = await catalogSnapshot(brand);

    const observation = await provisioner.observe(brand, desired);
    const changes = await provisioner.ensure(brand, desired);

    assert.deepEqual(observation.drift, [], 'observe reports no drift');
    assert.deepEqual(changes, [], 'ensure reports no changes');
    assert.deepEqual(await catalogSnapshot(brand), before, 'catalog rows, password verifiers included, are unchanged');
  });

  it('verifies a verifier that PostgreSQL computed', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    const wallet = databaseRole(brand, 'wallet');

    // The server salts and hashes a plain-text password itself.
    await admin.query(`ALTER ROLE ${pg.escapeIdentifier(wallet)} PASSWORD ${pg.escapeLiteral(desired.wallet.password)}`);
    const [row] = (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [wallet])).rows;

    assert.equal(await scramVerifierMatches(desired.wallet.password, row.rolpassword), true, 'the right password matches');
    assert.equal(await scramVerifierMatches(`${desired.wallet.password}x`, row.rolpassword), false, 'a wrong password does not');
    assert.deepEqual((await provisioner.observe(brand, desired)).drift, [], 'observe accepts the server-made verifier');
  });

  it('reports and repairs drift', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    const database = databaseName(brand);
    const wallet = databaseRole(brand, 'wallet');
    const rules = databaseRole(brand, 'rules');
    const id = pg.escapeIdentifier;

    await admin.query(`ALTER ROLE ${id(wallet)} PASSWORD 'changed-by-hand'`);
    await admin.query(`ALTER ROLE ${id(rules)} CREATEDB CONNECTION LIMIT 5`);
    await admin.query(`REVOKE CONNECT ON DATABASE ${id(database)} FROM ${id(rules)}`);
    await admin.query(`GRANT CONNECT ON DATABASE ${id(database)} TO PUBLIC`);
    await inBrandDatabase(brand, 'GRANT CREATE ON SCHEMA public TO PUBLIC');
    await inBrandDatabase(brand, 'DROP SCHEMA rules');

    const { drift } = await provisioner.observe(brand, desired);

    const expectedDrift = [
      `role ${rules}: may create databases; connection limit is 5, expected 50`,
      `role ${wallet}: password does not match`,
      `PUBLIC has CONNECT on database ${database}, expected none`,
      `${rules} has no privileges on database ${database}, expected CONNECT`,
      `schema rules of database ${database} is missing`,
      `PUBLIC has CREATE on schema public in database ${database}, expected none`,
    ];
    for (const line of expectedDrift) assert.ok(drift.includes(line), `drift contains "${line}"; drift: ${drift.join(' | ')}`);
    assert.equal(drift.length, expectedDrift.length, `drift: ${drift.join(' | ')}`);

    const changes = await provisioner.ensure(brand, desired);
    assert.equal(changes.length, expectedDrift.length, `changes: ${changes.join(' | ')}`);
    assert.deepEqual((await provisioner.observe(brand, desired)).drift, [], 'ensure repaired every drift');
    await withClient(wallet, desired.wallet.password, database, async (client) => {
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1, 'the wallet logs in with the desired password again');
    });
  });

  it('reports a missing database and moves ownership back', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    const database = databaseName(brand);
    const wallet = databaseRole(brand, 'wallet');
    const rules = databaseRole(brand, 'rules');

    await provisioner.ensure(brand, desired);
    await admin.query(`DROP DATABASE ${pg.escapeIdentifier(database)}`);
    assert.deepEqual((await provisioner.observe(brand, desired)).drift, [`database ${database} is missing`]);
    await provisioner.ensure(brand, desired);

    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(database)} OWNER TO ${pg.escapeIdentifier(rules)}`);
    await inBrandDatabase(brand, `ALTER SCHEMA public OWNER TO ${pg.escapeIdentifier(rules)}`);
    const { drift } = await provisioner.observe(brand, desired);
    assert.ok(drift.includes(`database ${database} is owned by ${rules}, expected ${wallet}`), `drift: ${drift.join(' | ')}`);
    assert.ok(drift.includes(`schema public of database ${database} is owned by ${rules}, expected ${wallet}`), `drift: ${drift.join(' | ')}`);

    await provisioner.ensure(brand, desired);
    assert.deepEqual((await provisioner.observe(brand, desired)).drift, []);
  });

  it('lets each role do its job and no more', async () => {
    const brand = newBrand();
    const otherBrand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    await provisioner.ensure(otherBrand, desiredFor());
    const database = databaseName(brand);
    const wallet = databaseRole(brand, 'wallet');
    const rules = databaseRole(brand, 'rules');

    await withClient(wallet, desired.wallet.password, database, async (client) => {
      await client.query('CREATE TABLE ledger_probe (id integer PRIMARY KEY)');
      await client.query('INSERT INTO ledger_probe VALUES (1)');
      assert.equal((await client.query('SELECT count(*)::int AS n FROM ledger_probe')).rows[0].n, 1);
      await assert.rejects(client.query('CREATE TABLE rules.wallet_probe (id integer)'), { code: '42501' }, 'the wallet cannot create in schema rules');
    });

    await withClient(rules, desired.rules.password, database, async (client) => {
      await client.query('CREATE TABLE rules.rule_probe (id integer)');
      await assert.rejects(client.query('CREATE TABLE public.rules_probe (id integer)'), { code: '42501' }, 'rules cannot create in public');
      await assert.rejects(client.query('SELECT * FROM public.ledger_probe'), { code: '42501' }, "rules cannot read the wallet's tables");
      await assert.rejects(client.query('CREATE TEMPORARY TABLE scratch (id integer)'), { code: '42501' }, 'rules has no TEMPORARY');
    });

    await assert.rejects(connectAs(wallet, desired.wallet.password, databaseName(otherBrand)), { code: '42501' }, "the wallet cannot connect to another brand's database");
    await assert.rejects(connectAs(rules, desired.rules.password, databaseName(otherBrand)), { code: '42501' }, "rules cannot connect to another brand's database");
    await assert.rejects(connectAs(wallet, 'wrong-password', database), { code: '28P01' }, 'a wrong password is rejected');
  });

  it('survives two replicas racing', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    const second = new PostgresProvisioner(target, { connectTimeoutMs: 2000 });
    try {
      const [first, other] = await Promise.all([provisioner.ensure(brand, desired), second.ensure(brand, desired)]);
      assert.ok(first.length > 0 || other.length > 0, 'one of them made the changes');
      assert.deepEqual((await provisioner.observe(brand, desired)).drift, [], 'the result is as desired');
    } finally {
      await second.close();
    }
  });

  it('removes database and roles idempotently', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    const database = databaseName(brand);
    const session = await connectAs(databaseRole(brand, 'wallet'), desired.wallet.password, database);

    try {
      await provisioner.remove(brand);
      await provisioner.remove(brand);
    } finally {
      await session.end().catch(() => undefined);
    }

    assert.equal((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount, 0, 'database dropped');
    const roles = await admin.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [[databaseRole(brand, 'wallet'), databaseRole(brand, 'rules')]]);
    assert.equal(roles.rowCount, 0, 'roles dropped');
  });

  it('rejects a non-ASCII password', async () => {
    const desired = desiredFor();
    desired.rules.password = 'pässwort';
    await assert.rejects(provisioner.observe(uniqueBrand('op-pg'), desired), (error: unknown) => {
      assert.ok(error instanceof InfrastructureError);
      assert.equal(error.code, 'OPERATOR_POSTGRES_FAILED');
      assert.equal(error.retryable, false);
      assert.doesNotMatch(error.message, /pässwort/, 'the message does not contain the password');
      return true;
    });
  });

  it('reports a closed port as unreachable', async () => {
    const port = await findFreePort();
    const unreachable = new PostgresProvisioner({ ...target, port }, { connectTimeoutMs: 1000 });
    const started = Date.now();
    try {
      await assert.rejects(unreachable.observe(uniqueBrand('op-pg'), desiredFor()), (error: unknown) => {
        assert.ok(error instanceof InfrastructureError, `an InfrastructureError, got ${String(error)}`);
        assert.equal(error.code, 'OPERATOR_POSTGRES_UNREACHABLE');
        assert.equal(error.part, 'database');
        assert.equal(error.retryable, true);
        assert.match(error.message, /^PostgreSQL reading role \S+ from pg_authid failed/, 'the message names the call');
        return true;
      });
      assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
    } finally {
      await unreachable.close();
    }
  });
});
