import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildBalanceChanged } from './helpers/events.js';
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
import { startLoadBalancerStandIn } from './helpers/load-balancer-stand-in.js';
import { ManualPollingClient } from './helpers/polling-client.js';
import { openRawWebSocket } from './helpers/raw-websocket.js';
import { buildPlayerToken } from './helpers/tokens.js';

const BUFFER_PACKETS_MAX = 5;
const GRACE_MS = 200;
const WEBSOCKET_BUFFER_PACKETS_MAX = 64;

describe('slow consumers', () => {
  const brand = useBrandFixture('slow');
  const { resources } = brand;

  test('stalled poller disconnected with notice', async () => {
    const gateway = await startTestGateway(brand.fixture, resources, {
      slowConsumer: { bufferPacketsMax: BUFFER_PACKETS_MAX },
      closing: { graceMs: 5000 },
    });
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const poller = await ManualPollingClient.open(gateway.url);
    await poller.connectNamespace(buildPlayerToken({ secret: brand.fixture.secret, playerId, brand: brand.fixture.brand }));
    const connectPoll = await poller.poll();
    assert.ok(connectPoll.packets[0]?.startsWith('40/player,'), `namespace connected, got ${connectPoll.packets[0]}`);

    // The poller stops reading; every push now waits in the engine.io write buffer.
    for (let balanceVersion = 2; balanceVersion <= BUFFER_PACKETS_MAX + 3; balanceVersion += 1) {
      await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion }));
    }
    await waitFor(
      async () => (await readMetric(gateway.url, 'push_gateway_slow_consumer_disconnects_total')) === 1,
      'the slow consumer disconnect to be counted',
    );
    const lastPoll = await poller.poll();
    const notice = lastPoll.packets.find((packet) => packet.includes('"server:notice"'));
    const afterClose = await waitFor(
      async () => {
        const next = await poller.poll(1000).catch(() => undefined);
        return next !== undefined && next.status !== 200 ? next : undefined;
      },
      'the session to be closed',
    );

    assert.ok(notice?.includes('"GATEWAY_SLOW_CONSUMER"'), `the buffered packets end with the notice: ${notice}`);
    assert.equal(lastPoll.packets.at(-1), '41/player,', 'the namespace disconnect follows the notice');
    assert.equal(afterClose.status, 400, 'the engine.io session is gone');
    assert.equal(await readMetric(gateway.url, 'push_gateway_connected_sockets'), 0, 'no socket left on the gateway');
  });

  test('stalled poller closed after grace period', async () => {
    const gateway = await startTestGateway(brand.fixture, resources, {
      slowConsumer: { bufferPacketsMax: BUFFER_PACKETS_MAX },
      closing: { graceMs: GRACE_MS },
    });
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const poller = await ManualPollingClient.open(gateway.url);
    await poller.connectNamespace(buildPlayerToken({ secret: brand.fixture.secret, playerId, brand: brand.fixture.brand }));
    await poller.poll();

    for (let balanceVersion = 2; balanceVersion <= BUFFER_PACKETS_MAX + 3; balanceVersion += 1) {
      await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion }));
    }
    await waitFor(
      async () => (await readMetric(gateway.url, 'push_gateway_slow_consumer_disconnects_total')) === 1,
      'the slow consumer disconnect to be counted',
    );
    // The transport is closed without the notice once the grace period has passed.
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 300));
    const poll = await poller.poll(1000);

    assert.equal(poll.status, 400, 'the session was closed without the client polling');
  });

  test('reading client keeps its connection', async () => {
    const gateway = await startTestGateway(brand.fixture, resources, { slowConsumer: { bufferPacketsMax: BUFFER_PACKETS_MAX } });
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);

    const lastVersion = BUFFER_PACKETS_MAX * 4;
    for (let balanceVersion = 2; balanceVersion <= lastVersion; balanceVersion += 1) {
      await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion }));
    }
    await waitForBalanceVersion(client, lastVersion);

    assert.equal(client.state, 'connected', 'a client that reads is not disconnected');
    assert.equal(await readMetric(gateway.url, 'push_gateway_slow_consumer_disconnects_total'), 0, 'no slow consumer counted');
  });

  test('player client reconnects after slow-consumer notice', async () => {
    const gateway = await startTestGateway(brand.fixture, resources, {
      slowConsumer: { bufferPacketsMax: 3 },
      closing: { graceMs: 5000 },
    });
    const balancer = await startLoadBalancerStandIn([gateway.port]);
    resources.add(() => balancer.close());
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: balancer.url, getToken: tokenProvider(brand.fixture, playerId), transports: ['polling'] });
    await waitForBalanceVersion(client, 1);
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(notice.code));

    // While responses are stalled the client cannot send its next poll, so
    // the pushes wait in the gateway's write buffer until the limit trips.
    balancer.pauseResponses();
    brand.fixture.wallet.setBalance(playerId, { currency: 'EUR', cashMinor: 1000, bonusMinor: 0, balanceVersion: 8 });
    for (let balanceVersion = 2; balanceVersion <= 8; balanceVersion += 1) {
      await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion }));
    }
    await waitFor(
      async () => (await readMetric(gateway.url, 'push_gateway_slow_consumer_disconnects_total')) === 1,
      'the slow consumer disconnect to be counted',
    );
    balancer.resumeResponses();
    await waitFor(() => notices.length > 0 || undefined, 'the notice to reach the client');
    await waitFor(() => client.state === 'connected' || undefined, 'the client to be connected again');
    await waitForBalanceVersion(client, 8);

    assert.deepEqual(notices, ['GATEWAY_SLOW_CONSUMER'], 'the client saw one slow-consumer notice');
    assert.equal(client.balance?.balanceVersion, 8, 'the snapshot after reconnecting has the final version');
    assert.equal(await readMetric(gateway.url, 'push_gateway_connected_sockets'), 1, 'the client is connected again');
  });

  test('stalled WebSocket reader disconnected with notice', async () => {
    const gateway = await startTestGateway(brand.fixture, resources, {
      slowConsumer: { bufferPacketsMax: WEBSOCKET_BUFFER_PACKETS_MAX, bufferBytesMax: 64 * 1024 },
      closing: { graceMs: 10_000 },
    });
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const socket = await openRawWebSocket(gateway.url, buildPlayerToken({ secret: brand.fixture.secret, playerId, brand: brand.fixture.brand }));
    resources.add(() => socket.close());

    // The client stops reading. The kernel socket buffers fill first (several
    // megabytes on loopback), then engine.io queues packets until the limit.
    // Batches stay below the limit, so a client that reads would keep up.
    socket.pauseReading();
    let balanceVersion = 1;
    await waitFor(
      async () => {
        const events = Array.from({ length: WEBSOCKET_BUFFER_PACKETS_MAX - 16 }, () => {
          balanceVersion += 1;
          return buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion });
        });
        await brand.fixture.publisher.publishMany(events);
        return (await readMetric(gateway.url, 'push_gateway_slow_consumer_disconnects_total')) === 1 || undefined;
      },
      'the stalled WebSocket to be detected',
      60_000,
    );
    const notice = socket.waitForMessage((message) => message.includes('"server:notice"'), 20_000);
    socket.resumeReading();
    const noticeMessage = await notice;

    assert.ok(noticeMessage.includes('"GATEWAY_SLOW_CONSUMER"'), `the notice arrives once reading resumes: ${noticeMessage}`);
    assert.ok(balanceVersion > 1000, `detected only after the kernel buffers filled, at version ${balanceVersion}`);
  });
});
