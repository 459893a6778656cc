import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { brandRedisPrefix } from '@croupier/shared';
import { findFreePort, infraSettings, uniqueBrand, waitFor } from '@croupier/shared/testing';
import { InfrastructureError } from '../src/infra/errors.js';
import { redisUser } from '../src/infra/names.js';
import { BRAND_REDIS_COMMANDS } from '@croupier/shared';
import { channelPatterns, RedisProvisioner } from '../src/infra/redis.js';
import type { CacheDesired, RedisTarget } from '../src/infra/types.js';

const redisUrl = new URL(infraSettings().redisUrl);
const target: RedisTarget = {
  host: redisUrl.hostname,
  port: Number(redisUrl.port),
  admin: { username: decodeURIComponent(redisUrl.username), password: decodeURIComponent(redisUrl.password) },
  tls: redisUrl.protocol === 'rediss:',
};

function desiredFor(): CacheDesired {
  const credential = (service: string) => ({ username: service, password: randomBytes(18).toString('base64url') });
  return { gateway: credential('gateway'), rules: credential('rules') };
}

/** Opens a client as a brand user, the way the push gateway does: named, with the INFO ready check. */
async function connectAs(username: string, password: string): Promise<Redis> {
  const client = new Redis({
    host: target.host,
    port: target.port,
    username,
    password,
    connectionName: `test-${username}`,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

function sha256Hex(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

function aclFields(reply: unknown): Map<string, unknown> {
  const items = reply as unknown[];
  const fields = new Map<string, unknown>();
  for (let index = 0; index + 1 < items.length; index += 2) fields.set(String(items[index]), items[index + 1]);
  return fields;
}

/** Calls of ACL SETUSER since the server started, from INFO commandstats. */
async function setUserCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  const match = /^cmdstat_acl\|setuser:calls=(\d+)/m.exec(info);
  return match === null ? 0 : Number(match[1]);
}

async function aclLogFor(admin: Redis, username: string): Promise<unknown[]> {
  const entries = (await admin.call('ACL', 'LOG', '128')) as unknown[][];
  return entries.filter((entry) => aclFields(entry).get('username') === username);
}

describe('Redis provisioner', () => {
  const brands: string[] = [];
  let provisioner: RedisProvisioner;
  let admin: Redis;

  function newBrand(): string {
    const brand = uniqueBrand('op-redis');
    brands.push(brand);
    return brand;
  }

  before(() => {
    provisioner = new RedisProvisioner(target, { connectTimeoutMs: 2000, commandTimeoutMs: 2000 });
    admin = new Redis(redisUrl.toString());
  });

  after(async () => {
    for (const brand of brands) await provisioner.remove(brand);
    await provisioner.close();
    admin.disconnect();
  });

  it('creates both ACL users', async () => {
    const brand = newBrand();
    const desired = desiredFor();

    const changes = await provisioner.ensure(brand, desired);

    assert.deepEqual(changes, [`created ACL user ${redisUser(brand, 'gateway')}`, `created ACL user ${redisUser(brand, 'rules')}`]);
    for (const service of ['gateway', 'rules'] as const) {
      const user = aclFields(await admin.call('ACL', 'GETUSER', redisUser(brand, service)));
      const password = desired[service].password;
      assert.ok((user.get('flags') as string[]).includes('on'), `${service} user is enabled`);
      assert.ok(!(user.get('flags') as string[]).includes('nopass'), `${service} user needs a password`);
      assert.deepEqual(user.get('passwords'), [sha256Hex(password)], `${service} user has exactly the desired password`);
      assert.equal(user.get('keys'), `~${brandRedisPrefix(brand)}*`, `${service} key pattern`);
      assert.deepEqual(
        (user.get('channels') as string).split(' ').sort(),
        channelPatterns(brand, service).map((pattern) => `&${pattern}`).sort(),
        `${service} channel patterns`,
      );
      assert.deepEqual(
        (user.get('commands') as string).split(' ').sort(),
        ['-@all', ...BRAND_REDIS_COMMANDS[service].map((command) => `+${command}`)].sort(),
        `${service} commands`,
      );
    }
  });

  it('grants no admin or dangerous command but INFO', async () => {
    const admins = (await admin.call('ACL', 'CAT', 'admin')) as string[];
    const dangerous = (await admin.call('ACL', 'CAT', 'dangerous')) as string[];
    const forbidden = new Set([...admins, ...dangerous]);
    for (const service of ['gateway', 'rules'] as const) {
      assert.deepEqual(
        BRAND_REDIS_COMMANDS[service].filter((command: string) => forbidden.has(command)),
        ['info'],
        `${service} commands`,
      );
    }
  });

  it('second ensure writes nothing', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    const users = [redisUser(brand, 'gateway'), redisUser(brand, 'rules')];
    const snapshot = async () => Promise.all(users.map((user) => admin.call('ACL', 'GETUSER', user)));
    const before = await snapshot();
    const setUsersBefore = await setUserCalls(admin);

    const observation = await provisioner.observe(brand, desired);
    const changes = await provisioner.ensure(brand, desired);

    assert.deepEqual(observation.drift, [], 'observe reports no drift');
    assert.deepEqual(changes, [], 'ensure reports no changes');
    // NOTE: the counter is server-wide, so an ACL SETUSER from another test
    // run at this moment would fail this check.
    assert.equal(await setUserCalls(admin), setUsersBefore, 'no ACL SETUSER ran');
    assert.deepEqual(await snapshot(), before, 'ACL GETUSER is unchanged');
  });

  it('reports and repairs drift', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    const gateway = redisUser(brand, 'gateway');
    const rules = redisUser(brand, 'rules');

    await admin.call('ACL', 'SETUSER', gateway, '>second-password', '~*', '+config|get', '+flushall');
    await admin.call('ACL', 'DELUSER', rules);

    const { drift } = await provisioner.observe(brand, desired);

    assert.equal(drift.length, 2, `drift: ${drift.join(' | ')}`);
    assert.match(drift[0] ?? '', new RegExp(`^ACL user ${gateway}: has 2 passwords, expected 1; key patterns are '`), 'gateway drift');
    assert.match(drift[0] ?? '', /command rules are '[^']*\+flushall/, 'gateway drift names the extra command');
    assert.equal(drift[1], `ACL user ${rules} is missing`);

    const changes = await provisioner.ensure(brand, desired);
    assert.equal(changes.length, 2, `changes: ${changes.join(' | ')}`);
    assert.deepEqual((await provisioner.observe(brand, desired)).drift, [], 'ensure repaired every drift');
    const repaired = aclFields(await admin.call('ACL', 'GETUSER', gateway));
    assert.deepEqual(repaired.get('passwords'), [sha256Hex(desired.gateway.password)], 'the second password is gone');

    await admin.call('ACL', 'SETUSER', rules, 'resetpass', '>changed', 'off');
    const { drift: passwordDrift } = await provisioner.observe(brand, desired);
    assert.deepEqual(passwordDrift, [`ACL user ${rules}: is disabled; password does not match`]);
  });

  it('lets the gateway user do its job within its prefix', async () => {
    const brand = newBrand();
    const otherBrand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    await provisioner.ensure(otherBrand, desiredFor());
    const user = redisUser(brand, 'gateway');
    const prefix = brandRedisPrefix(brand);

    const commands = await connectAs(user, desired.gateway.password);
    const subscriber = await connectAs(user, desired.gateway.password);
    try {
      // The deduplicator's commands.
      assert.equal(await commands.set(`${prefix}push-gateway:dedup:1`, 'claimed', 'EX', 30, 'NX'), 'OK');
      assert.equal(await commands.get(`${prefix}push-gateway:dedup:1`), 'claimed');
      assert.equal(await commands.del(`${prefix}push-gateway:dedup:1`), 1);

      // The socket.io adapter's subscriptions, as it makes them for the players' namespace.
      const adapterKey = `${prefix}socket.io`;
      const received: string[] = [];
      subscriber.on('pmessage', (_pattern: string, channel: string) => received.push(channel));
      subscriber.on('message', (channel: string) => received.push(channel));
      const patterns = [`${adapterKey}#/player#*`, `${adapterKey}#/#*`];
      const channels = [`${adapterKey}-request#/player#`, `${adapterKey}-response#/player#`];
      await subscriber.psubscribe(...patterns);
      await subscriber.subscribe(...channels);
      const numsub = (await commands.call('PUBSUB', 'NUMSUB', `${adapterKey}-request#/player#`)) as [string, number];
      assert.equal(numsub[1], 1, 'PUBSUB NUMSUB counts the subscriber');
      await commands.publish(`${adapterKey}#/player#room#`, 'broadcast');
      await commands.publish(`${adapterKey}-request#/player#`, 'request');
      await waitFor(() => received.length === 2, 'both messages');
      await subscriber.punsubscribe(...patterns);
      await subscriber.unsubscribe(...channels);

      assert.deepEqual(await aclLogFor(admin, user), [], 'the ready check, the connection name and the calls above were all allowed');

      const otherPrefix = brandRedisPrefix(otherBrand);
      await assert.rejects(commands.get(`${otherPrefix}push-gateway:dedup:1`), /NOPERM/, "another brand's key");
      await assert.rejects(commands.set('unprefixed', 'x'), /NOPERM/, 'a key outside any brand prefix');
      await assert.rejects(commands.publish(`${otherPrefix}socket.io#/player#`, 'x'), /NOPERM/, "another brand's channel");
      await assert.rejects(commands.call('CONFIG', 'GET', 'maxmemory'), /NOPERM/, 'CONFIG');
      await assert.rejects(commands.keys(`${prefix}*`), /NOPERM/, 'KEYS');

      // FLUSHALL would empty the shared Redis, so it is sent only after ACL DRYRUN confirms the user may not run it.
      const dryRun = String(await admin.call('ACL', 'DRYRUN', user, 'FLUSHALL'));
      assert.notEqual(dryRun, 'OK', 'ACL DRYRUN denies FLUSHALL');
      await assert.rejects(commands.call('FLUSHALL'), /NOPERM/, 'FLUSHALL');
    } finally {
      commands.disconnect();
      subscriber.disconnect();
    }
  });

  it('removes users and keys idempotently', async () => {
    const brand = newBrand();
    const otherBrand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    const prefix = brandRedisPrefix(brand);
    const otherKey = `${brandRedisPrefix(otherBrand)}kept`;

    const keyCount = 1234;
    const pipeline = admin.pipeline();
    for (let index = 0; index < keyCount; index += 1) pipeline.set(`${prefix}key:${index}`, 'x');
    pipeline.set(otherKey, 'x');
    await pipeline.exec();
    const gatewayClient = await connectAs(redisUser(brand, 'gateway'), desired.gateway.password);

    await provisioner.remove(brand);
    await provisioner.remove(brand);

    for (const service of ['gateway', 'rules'] as const) {
      assert.equal(await admin.call('ACL', 'GETUSER', redisUser(brand, service)), null, `${service} user deleted`);
    }
    const [, remaining] = await admin.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 100_000);
    assert.deepEqual(remaining, [], "the brand's keys are deleted");
    assert.equal(await admin.get(otherKey), 'x', "another brand's key is kept");
    await waitFor(() => gatewayClient.status === 'end', 'Redis to disconnect the deleted user');
    await admin.del(otherKey);
  });

  it('reports a closed port as unreachable', async () => {
    const port = await findFreePort();
    const unreachable = new RedisProvisioner({ ...target, port }, { connectTimeoutMs: 1000, commandTimeoutMs: 1000 });
    const started = Date.now();
    try {
      await assert.rejects(unreachable.observe(uniqueBrand('op-redis'), desiredFor()), (error: unknown) => {
        assert.ok(error instanceof InfrastructureError, `an InfrastructureError, got ${String(error)}`);
        assert.equal(error.code, 'OPERATOR_REDIS_UNREACHABLE');
        assert.equal(error.part, 'cache');
        assert.equal(error.retryable, true);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`), 'the message names the address');
        return true;
      });
      assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
    } finally {
      await unreachable.close();
    }
  });

  it('rejects a wrong admin password without retry', async () => {
    const adminUser = `${redisUser(newBrand(), 'gateway')}-admin`;
    await admin.call('ACL', 'SETUSER', adminUser, 'on', '>right-password', '~*', '&*', '+@all');
    const wrongAdmin = new RedisProvisioner({ ...target, admin: { username: adminUser, password: 'wrong-password' } }, { connectTimeoutMs: 1000 });
    try {
      await assert.rejects(wrongAdmin.observe(uniqueBrand('op-redis'), desiredFor()), (error: unknown) => {
        assert.ok(error instanceof InfrastructureError, `an InfrastructureError, got ${String(error)}`);
        assert.equal(error.code, 'OPERATOR_REDIS_COMMAND_FAILED');
        assert.equal(error.retryable, false);
        assert.match(error.message, /^Redis AUTH on \S+ failed: WRONGPASS/);
        assert.doesNotMatch(error.message, /wrong-password/, 'the message does not contain the password');
        return true;
      });
    } finally {
      await wrongAdmin.close();
      await admin.call('ACL', 'DELUSER', adminUser);
    }
  });

  it('reconnects after the admin connection drops', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    const operatorClientIds = async () => {
      const list = (await admin.call('CLIENT', 'LIST')) as string;
      return list
        .split('\n')
        .filter((line) => / name=croupier-operator /.test(line))
        .map((line) => /^id=(\d+)/.exec(line)?.[1] as string);
    };
    const own = new RedisProvisioner(target, { connectTimeoutMs: 2000, commandTimeoutMs: 2000 });
    try {
      const before = await operatorClientIds();
      await own.ensure(brand, desired);
      const opened = (await operatorClientIds()).filter((id) => !before.includes(id));
      assert.equal(opened.length, 1, 'the provisioner opened one admin connection');
      await admin.call('CLIENT', 'KILL', 'ID', opened[0] as string);

      // The first call after the drop may fail with a retryable error, and the next one opens a new connection.
      const observation = await own.observe(brand, desired).catch(async (error: unknown) => {
        assert.ok(error instanceof InfrastructureError, `an InfrastructureError, got ${String(error)}`);
        assert.equal(error.retryable, true, 'the error is retryable');
        return own.observe(brand, desired);
      });
      assert.deepEqual(observation.drift, []);
    } finally {
      await own.close();
    }
  });
});
