import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServerNotice } from '@croupier/shared/contracts';
import type { PlayerClient } from '@croupier/player-client';
import { buildBalanceChanged } from './helpers/events.js';
import {
  buildGatewayConfig,
  connectPlayer,
  readMetric,
  seedPlayer,
  startTestGateway,
  tokenProvider,
  useBrandFixture,
  waitFor,
  waitForBalanceVersion,
} from './helpers/fixtures.js';
import { spawnGateway } from './helpers/gateway-process.js';
import { startLoadBalancerStandIn } from './helpers/load-balancer-stand-in.js';

const PLAYER_COUNT = 5;
const RECONNECT_AFTER_MS_MIN = 100;
const RECONNECT_AFTER_MS_MAX = 400;

describe('drain on SIGTERM', () => {
  const brand = useBrandFixture('drain');
  const { resources } = brand;

  test('players move to the other replica', async () => {
    const closing = { reconnectAfterMsMin: RECONNECT_AFTER_MS_MIN, reconnectAfterMsMax: RECONNECT_AFTER_MS_MAX, graceMs: 500 };
    const draining = await spawnGateway(buildGatewayConfig(brand.fixture, { drain: { periodMs: 300, timeoutMs: 5000 }, closing }));
    resources.add(() => draining.kill());
    const remaining = await startTestGateway(brand.fixture, resources);
    const balancer = await startLoadBalancerStandIn([draining.port, remaining.port]);
    resources.add(() => balancer.close());

    const notices: ServerNotice[] = [];
    const clients: PlayerClient[] = [];
    const playerIds: string[] = [];
    for (let index = 0; index < PLAYER_COUNT; index += 1) {
      const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
      const client = connectPlayer(resources, { url: balancer.url, getToken: tokenProvider(brand.fixture, playerId) });
      client.on('notice', (notice) => notices.push(notice));
      playerIds.push(playerId);
      clients.push(client);
    }
    await Promise.all(clients.map((client) => waitForBalanceVersion(client, 1)));
    assert.equal(await readMetric(draining.url, 'push_gateway_connected_sockets'), PLAYER_COUNT, 'all players start on the first replica');

    draining.child.kill('SIGTERM');
    const exitCode = await draining.exited;
    await waitFor(
      async () => (await readMetric(remaining.url, 'push_gateway_connected_sockets')) === PLAYER_COUNT,
      'every player to reconnect to the remaining replica',
    );
    for (const [index, playerId] of playerIds.entries()) {
      await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 2 + index }));
    }
    await Promise.all(clients.map((client, index) => waitForBalanceVersion(client, 2 + index)));

    assert.equal(exitCode, 0, 'the drained process exits 0');
    assert.equal(notices.length, PLAYER_COUNT, 'every player got one notice');
    for (const notice of notices) {
      assert.equal(notice.code, 'GATEWAY_DRAINING', 'the notice says the gateway is draining');
      assert.ok(
        notice.reconnectAfterMs >= RECONNECT_AFTER_MS_MIN && notice.reconnectAfterMs <= RECONNECT_AFTER_MS_MAX,
        `reconnectAfterMs ${notice.reconnectAfterMs} is within the configured range`,
      );
    }
    assert.ok(
      draining.logs.some((entry) => entry.msg === 'player connections drained'),
      'the process logged the end of the drain',
    );
  });

  test('readiness turns 503 and handshakes are rejected while draining', async () => {
    // Three players over 1.5 s put 0.5 s between disconnects, which keeps the drain running while the latecomer connects.
    const gateway = await startTestGateway(brand.fixture, resources, { drain: { periodMs: 1500, timeoutMs: 5000 } });
    const clients = [1, 2, 3].map(() =>
      connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, seedPlayer(brand.fixture)) }),
    );
    await Promise.all(clients.map((client) => waitForBalanceVersion(client, 1)));

    const drained = gateway.drain();
    const readiness = await fetch(`${gateway.url}/readyz`);
    const codes: string[] = [];
    const latecomer = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, seedPlayer(brand.fixture)) });
    latecomer.on('connectionState', (change) => {
      if (change.code !== undefined) codes.push(change.code);
    });
    await waitFor(() => codes.length > 0 || undefined, 'the late handshake to be rejected');
    await drained;

    assert.equal(readiness.status, 503, '/readyz answers 503 once draining starts');
    assert.equal(codes[0], 'GATEWAY_ERR_DRAINING', 'new handshakes are rejected with the draining code');
    assert.equal(gateway.isDraining, true, 'the handle reports draining');
  });
});
