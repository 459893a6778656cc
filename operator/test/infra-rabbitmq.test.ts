import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import pino from 'pino';
import {
  BusConnection,
  BusConsumer,
  BusPublisher,
  EVENTS_EXCHANGE,
  declareExchanges,
  deadLetterQueueName,
  declareServiceQueue,
  serviceQueueName,
  type Deduplicator,
  type EventEnvelope,
} from '@croupier/shared';
import { findFreePort, infraSettings, uniqueBrand, waitFor } from '@croupier/shared/testing';
import { InfrastructureError } from '../src/infra/errors.js';
import { rabbitMqUser, vhostName } from '../src/infra/names.js';
import { BRAND_POLICIES, leastPermissions, RabbitMqProvisioner } from '../src/infra/rabbitmq.js';
import type { BrandService, MessagingDesired, RabbitMqTarget } from '../src/infra/types.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SERVICES: BrandService[] = ['wallet', 'rules', 'gateway'];

const settings = infraSettings();
const managementUrl = new URL(settings.managementUrl);
const admin = { username: decodeURIComponent(managementUrl.username), password: decodeURIComponent(managementUrl.password) };
managementUrl.username = '';
managementUrl.password = '';
const target: RabbitMqTarget = { managementUrl: managementUrl.toString(), admin };

const adminAuthorization = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`;

/** Calls the management API as the admin; returns the status and the parsed body, if any. */
async function managementApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, target.managementUrl), {
    method,
    headers: { authorization: adminAuthorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

function desiredFor(): MessagingDesired {
  const credential = (service: BrandService) => ({ username: service, password: randomBytes(18).toString('base64url') });
  return { wallet: credential('wallet'), rules: credential('rules'), gateway: credential('gateway') };
}

/** AMQP URL of a brand user, on its own brand's vhost unless `vhostBrand` names another. */
function amqpUrl(brand: string, service: BrandService, password: string, vhostBrand = brand): string {
  const url = new URL(settings.amqpUrl);
  url.username = encodeURIComponent(rabbitMqUser(brand, service));
  url.password = encodeURIComponent(password);
  url.pathname = `/${encodeURIComponent(vhostName(vhostBrand))}`;
  return url.toString();
}

function balanceChanged(brand: string): EventEnvelope<'BalanceChanged'> {
  return {
    id: randomUUID(),
    type: 'BalanceChanged',
    schemaVersion: 1,
    brand,
    playerId: 'player-1',
    occurredAt: new Date().toISOString(),
    committedAt: new Date().toISOString(),
    data: { currency: 'EUR', cashMinor: 100, bonusMinor: 0, balanceVersion: 1, reason: 'deposit', transactionId: '1' },
  };
}

class MemoryDeduplicator implements Deduplicator {
  private readonly processed = new Set<string>();
  async isProcessed(eventId: string): Promise<boolean> {
    return this.processed.has(eventId);
  }
  async markProcessed(eventId: string): Promise<void> {
    this.processed.add(eventId);
  }
}

/** Runs `operation` on a fresh channel and returns the error the broker closed the channel with. */
async function channelError(connection: ChannelModel, operation: (channel: Channel) => unknown): Promise<Error> {
  const channel = await connection.createConfirmChannel();
  const closed = new Promise<Error>((resolve) => channel.once('error', resolve));
  try {
    await operation(channel);
  } catch {
    // The rejected call and the channel's error event carry the same refusal.
  }
  return closed;
}

async function connect(url: string): Promise<ChannelModel> {
  const connection = await amqp.connect(url);
  connection.on('error', () => undefined);
  return connection;
}

describe('RabbitMQ provisioner', () => {
  const brands: string[] = [];
  let provisioner: RabbitMqProvisioner;

  function newBrand(): string {
    const brand = uniqueBrand('op-mq');
    brands.push(brand);
    return brand;
  }

  before(() => {
    provisioner = new RabbitMqProvisioner(target, { requestTimeoutMs: 5000 });
  });

  after(async () => {
    for (const brand of brands) await provisioner.remove(brand);
    await provisioner.close();
  });

  it('creates vhost, users, permissions and policies', async () => {
    const brand = newBrand();
    const vhost = vhostName(brand);
    const desired = desiredFor();

    const changes = await provisioner.ensure(brand, desired);

    assert.ok(changes.includes(`created vhost ${vhost}`), `changes: ${changes.join(' | ')}`);
    for (const service of SERVICES) {
      const user = rabbitMqUser(brand, service);
      assert.ok(changes.includes(`created user ${user}`), `created ${user}`);
      assert.ok(changes.includes(`set permissions of user ${user} on vhost ${vhost}`), `permissions of ${user}`);

      const stored = await managementApi('GET', `/api/users/${encodeURIComponent(user)}`);
      assert.equal(stored.status, 200, `user ${user} exists`);
      assert.deepEqual((stored.body as { tags: string[] }).tags, [], `user ${user} has no tags`);

      const permissions = await managementApi('GET', `/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`);
      const { configure, write, read } = permissions.body as { configure: string; write: string; read: string };
      assert.deepEqual({ configure, write, read }, leastPermissions(service), `permissions of ${user}`);
    }
    for (const policy of BRAND_POLICIES) {
      assert.ok(changes.includes(`set policy ${policy.name} on vhost ${vhost}`), `policy ${policy.name}`);
    }
    assert.equal(changes.length, 1 + 2 * SERVICES.length + BRAND_POLICIES.length, `changes: ${changes.join(' | ')}`);

    const vhostResponse = await managementApi('GET', `/api/vhosts/${encodeURIComponent(vhost)}`);
    assert.equal(vhostResponse.status, 200, 'vhost exists');
    const policies = (await managementApi('GET', `/api/policies/${encodeURIComponent(vhost)}`)).body as Array<{ name: string; definition: object }>;
    for (const policy of BRAND_POLICIES) {
      assert.deepEqual(policies.find((candidate) => candidate.name === policy.name)?.definition, policy.definition, `policy ${policy.name}`);
    }
  });

  it('second ensure writes nothing', async () => {
    const brand = newBrand();
    const vhost = vhostName(brand);
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);

    const snapshot = async () => ({
      users: await Promise.all(SERVICES.map((service) => managementApi('GET', `/api/users/${encodeURIComponent(rabbitMqUser(brand, service))}`))),
      permissions: await managementApi('GET', `/api/vhosts/${encodeURIComponent(vhost)}/permissions`),
      policies: await managementApi('GET', `/api/policies/${encodeURIComponent(vhost)}`),
    });
    const before = await snapshot();

    // Record every request the provisioner sends; a write would show up as PUT or DELETE.
    const methods: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      methods.push(init?.method ?? 'GET');
      return realFetch(input, init);
    };
    const { observation, changes } = await (async () => {
      try {
        return { observation: await provisioner.observe(brand, desired), changes: await provisioner.ensure(brand, desired) };
      } finally {
        globalThis.fetch = realFetch;
      }
    })();

    assert.deepEqual(observation.drift, [], 'observe reports no drift');
    assert.deepEqual(changes, [], 'ensure reports no changes');
    assert.ok(methods.length > 0, 'the provisioner sent requests');
    assert.deepEqual(
      methods.filter((method) => method !== 'GET'),
      [],
      'observe and ensure sent only GET requests',
    );
    assert.deepEqual(await snapshot(), before, 'users (with their salted password hashes), permissions and policies are unchanged');
  });

  it('accepts a password hash that RabbitMQ computed', async () => {
    const brand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);

    const user = rabbitMqUser(brand, 'rules');
    const put = await managementApi('PUT', `/api/users/${encodeURIComponent(user)}`, { password: desired.rules.password, tags: '' });
    assert.equal(put.status, 204, 'admin resets the same password in plain text');

    assert.deepEqual((await provisioner.observe(brand, desired)).drift, [], 'the server-salted hash verifies');
  });

  it('reports and repairs drift', async () => {
    const brand = newBrand();
    const vhost = vhostName(brand);
    const otherBrand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    await provisioner.ensure(otherBrand, desiredFor());

    const wallet = rabbitMqUser(brand, 'wallet');
    const rules = rabbitMqUser(brand, 'rules');
    const gateway = rabbitMqUser(brand, 'gateway');
    const encoded = encodeURIComponent;
    await managementApi('PUT', `/api/users/${encoded(wallet)}`, { password: 'not-the-desired-one', tags: 'management' });
    await managementApi('DELETE', `/api/users/${encoded(rules)}`);
    await managementApi('DELETE', `/api/permissions/${encoded(vhost)}/${encoded(gateway)}`);
    await managementApi('PUT', `/api/permissions/${encoded(vhostName(otherBrand))}/${encoded(gateway)}`, { configure: '.*', write: '.*', read: '.*' });
    const leaderPolicy = BRAND_POLICIES[0]!;
    await managementApi('PUT', `/api/policies/${encoded(vhost)}/${encoded(leaderPolicy.name)}`, {
      pattern: '.*',
      'apply-to': 'queues',
      priority: 0,
      definition: { 'queue-leader-locator': 'client-local' },
    });
    await managementApi('PUT', `/api/policies/${encoded(vhost)}/croupier-stale`, { pattern: '^x$', 'apply-to': 'queues', priority: 5, definition: { 'max-length': 1 } });

    const { drift } = await provisioner.observe(brand, desired);

    const expectedDrift = [
      `user ${wallet}: password does not match; has tags management, expected none`,
      `user ${rules} is missing`,
      `permissions of user ${rules} on vhost ${vhost} are missing`,
      `user ${gateway} has permissions on vhost ${vhostName(otherBrand)}, which is not its brand's`,
      `permissions of user ${gateway} on vhost ${vhost} are missing`,
      `policy ${leaderPolicy.name} on vhost ${vhost} differs`,
      `policy croupier-stale on vhost ${vhost} is not expected`,
    ];
    for (const line of expectedDrift) assert.ok(drift.includes(line), `drift contains "${line}"; drift: ${drift.join(' | ')}`);
    assert.equal(drift.length, expectedDrift.length, `drift: ${drift.join(' | ')}`);

    const changes = await provisioner.ensure(brand, desired);
    assert.equal(changes.length, expectedDrift.length, `changes: ${changes.join(' | ')}`);
    assert.deepEqual((await provisioner.observe(brand, desired)).drift, [], 'ensure repaired every drift');

    const otherVhostPermission = await managementApi('GET', `/api/permissions/${encoded(vhostName(otherBrand))}/${encoded(gateway)}`);
    assert.equal(otherVhostPermission.status, 404, "the gateway user lost its access to the other brand's vhost");
  });

  it('recreates a deleted vhost', async () => {
    const brand = newBrand();
    const vhost = vhostName(brand);
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    await managementApi('DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`);

    const { drift } = await provisioner.observe(brand, desired);
    assert.ok(drift.includes(`vhost ${vhost} is missing`), `drift: ${drift.join(' | ')}`);
    assert.ok(drift.includes(`permissions of user ${rabbitMqUser(brand, 'wallet')} on vhost ${vhost} are missing`), `drift: ${drift.join(' | ')}`);
    assert.ok(drift.includes(`policy ${BRAND_POLICIES[1]!.name} on vhost ${vhost} is missing`), `drift: ${drift.join(' | ')}`);

    await provisioner.ensure(brand, desired);
    assert.deepEqual((await provisioner.observe(brand, desired)).drift, [], 'ensure restored the vhost');
  });

  it('lets each user do its job and no more', async () => {
    const brand = newBrand();
    const otherBrand = newBrand();
    const desired = desiredFor();
    await provisioner.ensure(brand, desired);
    await provisioner.ensure(otherBrand, desiredFor());

    // The services' own bus code: consumers declare their queues, then the wallet publishes with confirms.
    const connections: BusConnection[] = [];
    const consumers: BusConsumer[] = [];
    const received: Record<'rules' | 'gateway', string[]> = { rules: [], gateway: [] };
    try {
      for (const [service, busName] of [['rules', 'rules'], ['gateway', 'push-gateway']] as const) {
        const connection = new BusConnection({ url: amqpUrl(brand, service, desired[service].password), connectionName: `test-${service}`, logger });
        connections.push(connection);
        const consumer = new BusConsumer(connection, {
          service: busName,
          bindingPatterns: ['balance.#'],
          prefetch: 10,
          deduplicator: new MemoryDeduplicator(),
          handler: async (event) => {
            received[service].push(event.id);
          },
          logger,
        });
        consumers.push(consumer);
        consumer.start();
        await connection.start();
      }
      const walletConnection = new BusConnection({ url: amqpUrl(brand, 'wallet', desired.wallet.password), connectionName: 'test-wallet', logger });
      connections.push(walletConnection);
      const publisher = new BusPublisher(walletConnection, logger);
      await walletConnection.start();
      await waitFor(() => publisher.isReady, 'the wallet publisher channel');
      await waitFor(async () => {
        const queue = await managementApi('GET', `/api/queues/${encodeURIComponent(vhostName(brand))}/${serviceQueueName('push-gateway')}`);
        return queue.status === 200 && queue.body;
      }, 'the gateway queue');

      // The management API lists a quorum queue's policy only with its first
      // statistics, which RabbitMQ emits every 5 s by default.
      const expectedPolicies = [
        [serviceQueueName('push-gateway'), BRAND_POLICIES[0]!.name],
        [deadLetterQueueName('push-gateway'), BRAND_POLICIES[1]!.name],
      ] as const;
      const appliedPolicies = await Promise.all(
        expectedPolicies.map(([queue]) =>
          waitFor(
            async () => {
              const response = await managementApi('GET', `/api/queues/${encodeURIComponent(vhostName(brand))}/${encodeURIComponent(queue)}`);
              return (response.body as { policy?: string } | undefined)?.policy;
            },
            `the policy of queue ${queue}`,
            30_000,
          ),
        ),
      );
      expectedPolicies.forEach(([queue, policy], index) => {
        assert.equal(appliedPolicies[index], policy, `queue ${queue} is under policy ${policy}`);
      });

      const event = balanceChanged(brand);
      await publisher.publishBatch([{ routingKey: 'balance.changed', messageId: event.id, type: event.type, body: Buffer.from(JSON.stringify(event)) }]);
      await waitFor(() => received.gateway.includes(event.id) && received.rules.includes(event.id), 'both consumers to receive the event');
    } finally {
      for (const consumer of consumers) await consumer.stop();
      for (const connection of connections) await connection.close();
    }

    const gateway = await connect(amqpUrl(brand, 'gateway', desired.gateway.password));
    const wallet = await connect(amqpUrl(brand, 'wallet', desired.wallet.password));
    const rules = await connect(amqpUrl(brand, 'rules', desired.rules.password));
    try {
      const refusals: Array<[string, ChannelModel, (channel: Channel) => unknown]> = [
        ['gateway publishes to the events exchange', gateway, (channel) => channel.publish(EVENTS_EXCHANGE, 'balance.changed', Buffer.from('{}'))],
        ['gateway consumes the rules queue', gateway, (channel) => channel.consume(serviceQueueName('rules'), () => undefined)],
        ['gateway declares a queue of its own choosing', gateway, (channel) => channel.assertQueue('gateway.side-queue', { durable: true })],
        ['rules consumes the gateway queue', rules, (channel) => channel.consume(serviceQueueName('push-gateway'), () => undefined)],
        ['rules publishes to the events exchange', rules, (channel) => channel.publish(EVENTS_EXCHANGE, 'balance.changed', Buffer.from('{}'))],
        ['wallet consumes the gateway queue', wallet, (channel) => channel.consume(serviceQueueName('push-gateway'), () => undefined)],
        ['wallet declares a queue', wallet, (channel) => channel.assertQueue('wallet.side-queue', { durable: true })],
      ];
      for (const [name, connection, operation] of refusals) {
        const error = await channelError(connection, operation);
        assert.match(error.message, /ACCESS_REFUSED/, name);
      }

      // Declaring the shared topology again is allowed for every user.
      for (const [name, connection] of [['wallet', wallet], ['gateway', gateway]] as const) {
        const channel = await connection.createChannel();
        await declareExchanges(channel);
        if (name === 'gateway') await declareServiceQueue(channel, { service: 'push-gateway', bindingPatterns: ['balance.#'] });
        await channel.close();
      }
    } finally {
      await Promise.all([gateway, wallet, rules].map((connection) => connection.close().catch(() => undefined)));
    }

    // The broker replies to connection.open on a vhost the user may not access
    // with connection.close, and amqplib 2.3 reports that frame without its reply text.
    await assert.rejects(
      connect(amqpUrl(brand, 'wallet', desired.wallet.password, otherBrand)),
      /Expected ConnectionOpenOk; got <ConnectionClose/,
      "the wallet user cannot open another brand's vhost",
    );
    const foreignPermission = await managementApi(
      'GET',
      `/api/permissions/${encodeURIComponent(vhostName(otherBrand))}/${encodeURIComponent(rabbitMqUser(brand, 'wallet'))}`,
    );
    assert.equal(foreignPermission.status, 404, "the wallet user has no permissions on the other brand's vhost");
  });

  it('removes vhost and users idempotently', async () => {
    const brand = newBrand();
    await provisioner.ensure(brand, desiredFor());

    await provisioner.remove(brand);
    await provisioner.remove(brand);

    assert.equal((await managementApi('GET', `/api/vhosts/${encodeURIComponent(vhostName(brand))}`)).status, 404, 'vhost deleted');
    for (const service of SERVICES) {
      const user = rabbitMqUser(brand, service);
      assert.equal((await managementApi('GET', `/api/users/${encodeURIComponent(user)}`)).status, 404, `user ${user} deleted`);
    }
  });

  it('reports a closed port as unreachable', async () => {
    const port = await findFreePort();
    const unreachable = new RabbitMqProvisioner({ managementUrl: `http://127.0.0.1:${port}`, admin }, { requestTimeoutMs: 1000 });
    const started = Date.now();

    const error = await unreachable.observe(uniqueBrand('op-mq'), desiredFor()).then(
      () => assert.fail('observe succeeded against a closed port'),
      (caught: unknown) => caught,
    );

    assert.ok(error instanceof InfrastructureError, `an InfrastructureError, got ${String(error)}`);
    assert.equal(error.code, 'OPERATOR_RABBITMQ_UNREACHABLE');
    assert.equal(error.part, 'messaging');
    assert.equal(error.retryable, true);
    assert.match(error.message, /GET \/api\/vhosts\//, 'the message names the call');
    assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
  });

  it('times out on a silent server', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const provisionerWithTimeout = new RabbitMqProvisioner({ managementUrl: `http://127.0.0.1:${port}`, admin }, { requestTimeoutMs: 300 });
      const started = Date.now();
      await assert.rejects(provisionerWithTimeout.ensure(uniqueBrand('op-mq'), desiredFor()), (error: unknown) => {
        assert.ok(error instanceof InfrastructureError);
        assert.equal(error.code, 'OPERATOR_RABBITMQ_UNREACHABLE');
        assert.equal(error.retryable, true);
        assert.match(error.message, /timed out after 300 ms/);
        return true;
      });
      assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('rejects a wrong admin password without retry', async () => {
    const wrongAdmin = new RabbitMqProvisioner({ managementUrl: target.managementUrl, admin: { username: admin.username, password: 'wrong' } });
    await assert.rejects(wrongAdmin.observe(uniqueBrand('op-mq'), desiredFor()), (error: unknown) => {
      assert.ok(error instanceof InfrastructureError);
      assert.equal(error.code, 'OPERATOR_RABBITMQ_REQUEST_FAILED');
      assert.equal(error.retryable, false);
      assert.match(error.message, /HTTP 401/);
      assert.doesNotMatch(error.message, /wrong/, 'the message does not contain the password');
      return true;
    });
  });
});
