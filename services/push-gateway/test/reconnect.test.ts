import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '@croupier/shared/testing';
import { buildBalanceChanged } from './helpers/events.js';
import {
  connectPlayer,
  seedPlayer,
  startTestGateway,
  tokenProvider,
  useBrandFixture,
  waitForBalanceVersion,
  waitForState,
} from './helpers/fixtures.js';
import { startLoadBalancerStandIn } from './helpers/load-balancer-stand-in.js';

const BURST_SIZE = 60;

describe('reconnects', () => {
  const brand = useBrandFixture('reconnect');
  const { resources } = brand;

  test('reconnect during a burst ends on the final version', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const balancer = await startLoadBalancerStandIn([gateway.port]);
    resources.add(() => balancer.close());
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: balancer.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);
    const observedVersions: number[] = [];
    client.on('balance', (change) => observedVersions.push(change.balance.balanceVersion));
    const reconnected = waitForState(client, 'reconnecting', 10_000);

    for (let balanceVersion = 2; balanceVersion <= BURST_SIZE + 1; balanceVersion += 1) {
      // The wallet commits before it publishes, so a snapshot read at any
      // moment is at least as new as every event already published.
      brand.fixture.wallet.setBalance(playerId, { currency: 'EUR', cashMinor: balanceVersion, bonusMinor: 0, balanceVersion });
      await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion, cashMinor: balanceVersion }));
      if (balanceVersion === Math.floor(BURST_SIZE / 2)) balancer.dropConnections();
    }
    await reconnected;
    const balance = await waitForBalanceVersion(client, BURST_SIZE + 1, 10_000);
    // The last pushes can overtake the reconnect's snapshot, so the final version may come first.
    // It throws, failing the test, when no second snapshot arrives.
    await waitFor(() => client.stats.snapshotsApplied + client.stats.staleIgnored >= 2, 'a second snapshot after reconnecting', 10_000);

    const isIncreasing = observedVersions.every((version, index) => index === 0 || version > (observedVersions[index - 1] ?? 0));
    assert.equal(balance.balanceVersion, BURST_SIZE + 1, 'the client ends on the last version');
    assert.equal(balance.cashMinor, BURST_SIZE + 1, 'with the amount of the last version');
    assert.ok(isIncreasing, 'the balance never went back across the reconnect');
  });
});
