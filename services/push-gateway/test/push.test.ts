import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestVhost } from '@croupier/shared/testing';
import type { BalanceChange } from '@croupier/player-client';
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

describe('balance pushes', () => {
  const brand = useBrandFixture('push');
  const { resources } = brand;

  test('snapshot on connect', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { cashMinor: 2500, bonusMinor: 300, balanceVersion: 7 });
    const changes: BalanceChange[] = [];

    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    client.on('balance', (change) => changes.push(change));
    const balance = await waitForBalanceVersion(client, 7);

    assert.equal(balance.playerId, playerId, 'snapshot is for the connected player');
    assert.equal(balance.cashMinor, 2500, 'cash comes from the wallet');
    assert.equal(balance.bonusMinor, 300, 'bonus comes from the wallet');
    assert.equal(changes[0]?.source, 'snapshot', 'first balance comes from a snapshot');
    assert.equal(client.transport, 'websocket', 'the client connects over WebSocket first');
    assert.equal(await readMetric(gateway.url, 'push_gateway_connected_sockets'), 1, 'gauge counts the socket');
  });

  test('event pushed to the player', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);
    const updates: BalanceChange[] = [];
    client.on('balance', (change) => updates.push(change));

    const event = buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 2, cashMinor: 4200, bonusMinor: 17 });
    await brand.fixture.publisher.publish(event);
    const balance = await waitForBalanceVersion(client, 2);

    assert.equal(balance.cashMinor, 4200, 'cash comes from the event');
    assert.equal(balance.bonusMinor, 17, 'bonus comes from the event');
    assert.equal(updates[0]?.source, 'update', 'the change is an update');
    assert.equal(updates[0]?.committedAt, event.committedAt, 'the update carries committedAt');
    assert.equal(updates[0]?.eventId, event.id, 'the update carries the event id');
    assert.equal(await readMetric(gateway.url, 'push_gateway_pushes_emitted_total'), 1, 'one push counted');
    assert.equal(
      await readMetric(gateway.url, 'push_gateway_commit_to_emit_latency_seconds_count'),
      1,
      'commit-to-emit latency observed once',
    );
  });

  test('player on the other replica receives the push', async () => {
    // Replica B consumes an empty vhost, so only replica A can consume the
    // brand's events and the push must cross the Redis adapter.
    const idleVhost = await createTestVhost(brand.fixture.infra, `${brand.fixture.brand}-idle`);
    resources.add(() => idleVhost.remove());
    const consumingReplica = await startTestGateway(brand.fixture, resources);
    const otherReplica = await startTestGateway(brand.fixture, resources, { amqpUrl: idleVhost.amqpUrl });
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });

    const client = connectPlayer(resources, { url: otherReplica.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 2 }));
    await waitForBalanceVersion(client, 2);

    assert.equal(await readMetric(consumingReplica.url, 'push_gateway_pushes_emitted_total'), 1, 'replica A emitted');
    assert.equal(await readMetric(otherReplica.url, 'push_gateway_pushes_emitted_total'), 0, 'replica B consumed nothing');
    assert.equal(await readMetric(consumingReplica.url, 'push_gateway_connected_sockets'), 0, 'player is not on A');
  });

  test('duplicate event delivered once', async () => {
    const replicaA = await startTestGateway(brand.fixture, resources);
    const replicaB = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: replicaA.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);

    const event = buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 2 });
    await brand.fixture.publisher.publish(event);
    await brand.fixture.publisher.publish(event);
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 3 }));
    await waitForBalanceVersion(client, 3);
    const countDeduplicated = async (): Promise<number> =>
      (await readMetric(replicaA.url, 'push_gateway_events_deduplicated_total')) +
      (await readMetric(replicaB.url, 'push_gateway_events_deduplicated_total'));
    const deduplicatedTotal = await waitFor(async () => (await countDeduplicated()) || undefined, 'a deduplicated delivery');

    assert.equal(client.stats.updatesApplied, 2, 'versions 2 and 3 applied');
    assert.equal(client.stats.staleIgnored, 0, 'the copy of version 2 never reached the client');
    assert.equal(deduplicatedTotal, 1, 'one delivery skipped as a duplicate across both replicas');
  });

  test('out-of-order versions never regress', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);
    const observedVersions: number[] = [];
    client.on('balance', (change) => observedVersions.push(change.balance.balanceVersion));

    for (const balanceVersion of [5, 3, 4, 2, 6]) {
      await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion }));
    }
    await waitForBalanceVersion(client, 6);
    await waitFor(() => client.stats.updatesApplied + client.stats.staleIgnored === 5 || undefined, 'all five updates');

    const isIncreasing = observedVersions.every((version, index) => index === 0 || version > (observedVersions[index - 1] ?? 0));
    assert.ok(isIncreasing, `balance versions only increase, observed ${observedVersions.join(',')}`);
    assert.equal(client.balance?.balanceVersion, 6, 'client ends on the newest version');
    assert.ok(client.stats.staleIgnored >= 2, `versions 2 and 4 arrive after 5 and are ignored (${client.stats.staleIgnored})`);
  });

  test('stale snapshot does not roll back', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 9, cashMinor: 900 }));
    await waitForBalanceVersion(client, 9);

    brand.fixture.wallet.setBalance(playerId, { currency: 'EUR', cashMinor: 100, bonusMinor: 0, balanceVersion: 4 });
    const snapshot = await client.refresh();

    assert.equal(snapshot.balanceVersion, 4, 'refresh returns the wallet snapshot');
    assert.equal(client.balance?.balanceVersion, 9, 'the older snapshot did not replace version 9');
    assert.equal(client.balance?.cashMinor, 900, 'cash stays at the version 9 amount');
    assert.equal(client.stats.staleIgnored, 1, 'the snapshot counts as stale');
  });

  test('refresh reports wallet failure code', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);

    brand.fixture.wallet.failWithStatus(503);
    resources.add(() => brand.fixture.wallet.failWithStatus(undefined));
    await assert.rejects(client.refresh(), { code: 'GATEWAY_ERR_WALLET_UNAVAILABLE' }, 'refresh fails with the wallet code');
    brand.fixture.wallet.failWithStatus(401);
    await assert.rejects(client.refresh(), { code: 'GATEWAY_ERR_WALLET_REJECTED' }, 'a 4xx is reported without retries');
    assert.equal(client.state, 'connected', 'a failed refresh keeps the connection');
  });

  test('long-polling fallback works', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 3 });
    const client = connectPlayer(resources, {
      url: gateway.url,
      getToken: tokenProvider(brand.fixture, playerId),
      transports: ['polling'],
    });
    await waitForBalanceVersion(client, 3);
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 4 }));
    await waitForBalanceVersion(client, 4);

    assert.equal(client.transport, 'polling', 'the client stayed on long-polling');
    assert.equal(client.balance?.balanceVersion, 4, 'the push arrived over long-polling');
  });

  test('wallet outage disconnects until it recovers', async () => {
    const gateway = await startTestGateway(brand.fixture, resources, { wallet: { unavailableHoldMs: 300 } });
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 5 });
    brand.fixture.wallet.failWithStatus(503);
    resources.add(() => brand.fixture.wallet.failWithStatus(undefined));
    const codes: string[] = [];

    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    client.on('connectionState', (change) => {
      if (change.code !== undefined) codes.push(change.code);
    });
    await waitFor(() => codes.includes('GATEWAY_ERR_SNAPSHOT_UNAVAILABLE') || undefined, 'a SNAPSHOT_UNAVAILABLE rejection');
    assert.equal(client.balance, undefined, 'no balance while the wallet is down');

    brand.fixture.wallet.failWithStatus(undefined);
    await waitForBalanceVersion(client, 5);
    assert.equal(client.state, 'connected', 'the client connected once the wallet recovered');
    assert.ok(
      (await readMetric(gateway.url, 'push_gateway_snapshot_failures_total', { code: 'GATEWAY_ERR_WALLET_UNAVAILABLE' })) >= 1,
      'snapshot failures are counted',
    );
  });

  test('probes and metrics', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);

    const health = await fetch(`${gateway.url}/healthz`);
    const ready = await fetch(`${gateway.url}/readyz`);
    const readyBody = (await ready.json()) as Record<string, unknown>;
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const unknown = await fetch(`${gateway.url}/nothing-here`);
    const posted = await fetch(`${gateway.url}/readyz`, { method: 'POST' });

    assert.equal(health.status, 200, '/healthz answers 200');
    assert.equal(ready.status, 200, '/readyz answers 200 when Redis and the bus are up');
    assert.equal(readyBody.redis, true, 'readiness reports Redis');
    assert.equal(readyBody.bus, true, 'readiness reports the bus');
    for (const name of [
      'push_gateway_connected_sockets',
      'push_gateway_handshake_failures_total',
      'push_gateway_pushes_emitted_total',
      'push_gateway_commit_to_emit_latency_seconds',
      'push_gateway_slow_consumer_disconnects_total',
      'push_gateway_events_deduplicated_total',
    ]) {
      assert.ok(metrics.includes(`# TYPE ${name}`), `metrics expose ${name}`);
    }
    assert.equal(unknown.status, 404, 'unknown paths answer 404');
    assert.equal(posted.status, 405, 'POST is not allowed');
  });

  test('closed client leaves no socket behind', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture);
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);

    client.close();
    await waitFor(
      async () => (await readMetric(gateway.url, 'push_gateway_connected_sockets')) === 0,
      'the gateway to count no connected socket',
    );

    assert.equal(client.state, 'closed', 'client reports closed');
    assert.equal(client.transport, undefined, 'client has no transport');
  });
});
