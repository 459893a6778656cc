import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestVhost } from '@croupier/shared/testing';
import { Redis } from 'ioredis';
import { brandRedisPrefix } from '../src/server.js';
import { buildBalanceChanged, TestEventPublisher } from './helpers/events.js';
import {
  connectPlayer,
  readMetric,
  seedPlayer,
  startTestGateway,
  tokenProvider,
  useBrandFixture,
  waitFor,
  waitForBalanceVersion,
} from './helpers/fixtures.js';
import { restartServer } from './helpers/infra-control.js';

const RECOVERY_TIMEOUT_MS = 30_000;

describe('broker restarts', () => {
  const brand = useBrandFixture('restart');
  const { resources } = brand;

  test('cross-replica pushes survive a Redis restart', async () => {
    const idleVhost = await createTestVhost(brand.fixture.infra, `${brand.fixture.brand}-idle`);
    resources.add(() => idleVhost.remove());
    const consumingReplica = await startTestGateway(brand.fixture, resources);
    const otherReplica = await startTestGateway(brand.fixture, resources, { amqpUrl: idleVhost.amqpUrl });
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: otherReplica.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);
    let snapshotCount = 0;
    client.on('snapshot', () => {
      snapshotCount += 1;
    });

    // Publish steadily while Redis restarts, as the wallet would under load.
    let balanceVersion = 1;
    let isPublishing = true;
    const publishing = (async () => {
      while (isPublishing) {
        balanceVersion += 1;
        brand.fixture.wallet.setBalance(playerId, { currency: 'EUR', cashMinor: balanceVersion * 100, bonusMinor: 0, balanceVersion });
        await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion }));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const runIdBefore = await readRedisRunId(brand.fixture.infra.redisUrl);
    await restartServer('redis');
    const runIdAfter = await readRedisRunId(brand.fixture.infra.redisUrl);
    // Each replica's adapter subscribes to a response channel named with its
    // own id; both channels on the new Redis mean both replicas re-subscribed.
    await waitFor(
      async () => (await countAdapterResponseChannels(brand.fixture.infra.redisUrl, brand.fixture.brand)) === 2 || undefined,
      'both replicas to re-subscribe on the restarted Redis',
      RECOVERY_TIMEOUT_MS,
    );
    isPublishing = false;
    await publishing;

    const finalVersion = balanceVersion + 1;
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: finalVersion }));
    await waitForBalanceVersion(client, finalVersion, RECOVERY_TIMEOUT_MS);
    await waitFor(() => snapshotCount >= 1 || undefined, 'the resync snapshot after the Redis reconnect');

    assert.notEqual(runIdAfter, runIdBefore, 'Redis really restarted');
    assert.equal(client.balance?.balanceVersion, finalVersion, 'a push after the restart crossed replicas');
    assert.equal(client.state, 'connected', 'the player stayed connected');
    assert.ok(snapshotCount >= 1, 'the replica resent a snapshot once its subscriber was back');
    assert.ok(
      (await readMetric(consumingReplica.url, 'push_gateway_pushes_emitted_total')) >= 1,
      'the consuming replica kept pushing',
    );
  });

  test('consumer resumes after a RabbitMQ restart', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);

    await restartServer('rabbitmq');
    await waitFor(
      async () => (await (await fetch(`${gateway.url}/readyz`)).status) === 200,
      'the gateway to reconnect to the bus',
      RECOVERY_TIMEOUT_MS,
    );
    const publisher = await TestEventPublisher.connect(brand.fixture.amqpUrl);
    resources.add(() => publisher.close());
    await publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 2 }));
    await waitForBalanceVersion(client, 2, RECOVERY_TIMEOUT_MS);

    assert.equal(client.balance?.balanceVersion, 2, 'an event published after the restart arrived');
    assert.equal(client.state, 'connected', 'players were not disconnected by the bus restart');
  });
});

async function readRedisRunId(redisUrl: string): Promise<string> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    const info = await redis.info('server');
    return /run_id:(\w+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

async function countAdapterResponseChannels(redisUrl: string, brand: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    const channels = (await redis.pubsub('CHANNELS', `${brandRedisPrefix(brand)}socket.io-response#/player#*#`)) as string[];
    return channels.length;
  } finally {
    redis.disconnect();
  }
}
