import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { rename, symlink, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { BRAND_REDIS_COMMANDS, brandRedisPrefix } from '@croupier/shared';
import { infraSettings } from '@croupier/shared/testing';
import { at, HOUR_MS, TEST_RULES } from './support/rules-fixture.js';
import { consumedCount, interventionsOf, startStack, waitFor, waitForConsumed, type TestStack } from './support/stack.js';


describe('rules service lifecycle', () => {
  let stack: TestStack;
  let admin: Redis;
  let aclUser: string;

  before(async () => {
    // Run the service as a Redis user limited like the operator's rules user,
    // so a command missing from BRAND_REDIS_COMMANDS.rules fails this suite.
    admin = new Redis(infraSettings().redisUrl);
    aclUser = `rules-test-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    const brandPlaceholder = await startStack(TEST_RULES);
    const prefix = brandRedisPrefix(brandPlaceholder.brand);
    await admin.call('ACL', 'SETUSER', aclUser, 'reset', 'on', `>${password}`, `~${prefix}*`, `&${prefix}*`, '-@all', ...BRAND_REDIS_COMMANDS.rules.map((command) => `+${command}`));
    stack = brandPlaceholder;
    const url = new URL(infraSettings().redisUrl);
    url.username = aclUser;
    url.password = password;
    await stack.restart({ REDIS_URL: url.toString() });
  });
  after(async () => {
    await stack?.close();
    await admin.call('ACL', 'DELUSER', aclUser).catch(() => undefined);
    admin.disconnect();
  });

  const deposit = async (playerId: string, amountMinor: number, offsetMs: number): Promise<void> => {
    const before = await consumedCount(stack);
    await stack.publish('DepositCompleted', playerId, { paymentReference: randomUUID(), currency: 'EUR', amountMinor, method: 'card' }, {
      occurredAt: at(offsetMs),
    });
    await waitForConsumed(stack, before + 1);
  };

  test('aggregates survive a restart', async () => {
    const playerId = `player-${randomUUID().slice(0, 8)}`;
    await deposit(playerId, 70_000, 0);
    await stack.restart();
    await deposit(playerId, 30_000, 2 * HOUR_MS);
    const rows = await interventionsOf(stack, playerId);
    assert.deepEqual(rows.map((row) => row.rule_id), ['deposits-24h']);
    assert.deepEqual(rows[0]?.window_values, { sumMinor: 100_000, count: 2 });
  });

  test('events published while stopped are evaluated on start', async () => {
    const playerId = `player-${randomUUID().slice(0, 8)}`;
    await deposit(playerId, 70_000, 0);
    await stack.service.stop();
    await stack.publish('DepositCompleted', playerId, { paymentReference: randomUUID(), currency: 'EUR', amountMinor: 30_000, method: 'card' }, {
      occurredAt: at(HOUR_MS),
    });
    await stack.restart();
    await waitFor(async () => (await interventionsOf(stack, playerId)).length === 1, 'the intervention after the restart');
  });

  test('invalid rule file keeps the old rules', async () => {
    const before = stack.service.watcher.status();
    assert.equal(before.version, 'test-1');
    await writeFile(stack.rulesFile, 'rules:\n  - id: broken\n    kind: windowed_sum\n');
    await waitFor(() => stack.service.watcher.status().lastError !== null, 'the reload error');

    const status = await stack.service.app.inject({ method: 'GET', url: '/rules', headers: await officerHeader(stack) });
    const body = status.json() as { version: string; lastError: { problems: { path: string; message: string }[] } };
    assert.equal(body.version, 'test-1');
    assert.ok(body.lastError.problems.some((problem) => problem.path === '/rules/0/measure'), JSON.stringify(body.lastError));
    const metrics = await stack.service.metrics.registry.getSingleMetricAsString('rules_file_valid');
    assert.match(metrics, /rules_file_valid\{[^}]*\} 0/);

    // Other files written next to the rule file, such as a log, do not reload it, and the
    // same invalid content is reported once, not on every event.
    const reported = stack.service.watcher.status().lastError?.at;
    await writeFile(path.join(path.dirname(stack.rulesFile), 'unrelated.log'), 'a line\n');
    await writeFile(stack.rulesFile, 'rules:\n  - id: broken\n    kind: windowed_sum\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(stack.service.watcher.status().lastError?.at, reported, 'the unchanged invalid file is not reported again');

    const playerId = `player-${randomUUID().slice(0, 8)}`;
    await deposit(playerId, 100_000, 0);
    assert.deepEqual((await interventionsOf(stack, playerId)).map((row) => row.rule_id), ['deposits-24h'], 'old rules still fire');
  });

  test('ConfigMap-style symlink swap reloads rules', async () => {
    // Kubernetes points rules.yaml at ..data/rules.yaml and swaps ..data.
    const directory = stack.rulesDirectory;
    const version = async (name: string, text: string): Promise<void> => {
      await mkdir(path.join(directory, name));
      await writeFile(path.join(directory, name, 'rules.yaml'), text);
      await symlink(name, path.join(directory, '..data_tmp'));
      await rename(path.join(directory, '..data_tmp'), path.join(directory, '..data'));
    };
    await version('v1', TEST_RULES);
    await rename(path.join(directory, 'rules.yaml'), path.join(directory, 'old.yaml'));
    await symlink('..data/rules.yaml', path.join(directory, 'rules.yaml'));
    await waitFor(() => stack.service.watcher.status().lastError === null, 'the valid file to load');

    const lowered = TEST_RULES.replace('version: test-1', 'version: test-2').replace('EUR: { sumMinor: 100000 }', 'EUR: { sumMinor: 5000 }');
    await version('v2', lowered);
    await waitFor(() => stack.service.watcher.status().version === 'test-2', 'version test-2 to load');

    const playerId = `player-${randomUUID().slice(0, 8)}`;
    await deposit(playerId, 5000, 0);
    const [row] = await interventionsOf(stack, playerId);
    assert.deepEqual(row?.thresholds, { sumMinor: 5000 });
    assert.equal(row?.rules_version, 'test-2');
  });
});

async function officerHeader(stack: TestStack): Promise<Record<string, string>> {
  const response = await stack.service.app.inject({
    method: 'POST',
    url: '/staff/sessions',
    payload: { username: 'olivia', password: 'officer-password-1' },
  });
  return { authorization: `Bearer ${(response.json() as { token: string }).token}` };
}
