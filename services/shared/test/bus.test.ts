import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import pino from 'pino';
import { BusConnection } from '../src/bus/connection.js';
import { BusConsumer, type Deduplicator } from '../src/bus/consumer.js';
import { BusPublisher, type OutgoingMessage } from '../src/bus/publisher.js';
import { deadLetterQueueName, EVENTS_EXCHANGE, serviceQueueName, UNROUTED_QUEUE } from '../src/bus/topology.js';
import { getQueueStats } from '../src/bus/vhost.js';
import type { EventEnvelope } from '../src/contracts/events.js';
import { createTestVhost, infraSettings, uniqueBrand, waitFor } from '../src/testing.js';

const INFRA_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/infra.sh');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

class MemoryDeduplicator implements Deduplicator {
  readonly processed = new Set<string>();
  async isProcessed(eventId: string, _redelivered: boolean): Promise<boolean> {
    return this.processed.has(eventId);
  }
  async markProcessed(eventId: string): Promise<void> {
    this.processed.add(eventId);
  }
}

function balanceChanged(brand: string, balanceVersion: number): EventEnvelope<'BalanceChanged'> {
  return {
    id: randomUUID(),
    type: 'BalanceChanged',
    schemaVersion: 1,
    brand,
    playerId: 'player-1',
    occurredAt: new Date().toISOString(),
    committedAt: new Date().toISOString(),
    data: { currency: 'EUR', cashMinor: 100 * balanceVersion, bonusMinor: 0, balanceVersion, reason: 'deposit', transactionId: String(balanceVersion) },
  };
}

function toMessage(event: EventEnvelope): OutgoingMessage {
  return { routingKey: 'balance.changed', messageId: event.id, type: event.type, body: Buffer.from(JSON.stringify(event)) };
}

describe('event bus against RabbitMQ', () => {
  const settings = infraSettings();
  const brand = uniqueBrand('bus');
  let vhost: Awaited<ReturnType<typeof createTestVhost>>;
  let connection: BusConnection;
  let publisher: BusPublisher;
  let consumer: BusConsumer;
  const deduplicator = new MemoryDeduplicator();
  const handled: EventEnvelope[] = [];

  before(async () => {
    vhost = await createTestVhost(settings, brand);
    connection = new BusConnection({ url: vhost.amqpUrl, connectionName: 'bus-test', logger, backoff: { initialDelayMs: 50, maxDelayMs: 1_000 } });
    publisher = new BusPublisher(connection, logger);
    consumer = new BusConsumer(connection, {
      service: 'bus-test',
      bindingPatterns: ['balance.#'],
      prefetch: 10,
      deduplicator,
      logger,
      handler: async (event) => {
        handled.push(event);
      },
    });
    consumer.start();
    await connection.start();
  });

  after(async () => {
    await consumer.stop();
    await connection.close();
    await vhost.remove();
  });

  it('delivers a confirmed event to the consumer', async () => {
    const event = balanceChanged(brand, 1);
    await publisher.publishBatch([toMessage(event)]);
    await waitFor(() => handled.some((received) => received.id === event.id), 'the event to be handled', 30_000);
  });

  it('handles an event published twice only once', async () => {
    const event = balanceChanged(brand, 2);
    await publisher.publishBatch([toMessage(event), toMessage(event)]);
    const marker = balanceChanged(brand, 3);
    await publisher.publishBatch([toMessage(marker)]);
    await waitFor(() => handled.some((received) => received.id === marker.id), 'the marker event', 30_000);
    // Two in-flight copies are serialised, so a second one would follow the first within a few milliseconds.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(handled.filter((received) => received.id === event.id).length, 1, 'duplicate must be skipped');
  });

  it('dead-letters a malformed event without stopping the consumer', async () => {
    const raw = await amqp.connect(vhost.amqpUrl);
    const channel = await raw.createConfirmChannel();
    channel.publish(EVENTS_EXCHANGE, 'balance.changed', Buffer.from('{"id":"broken"'), { persistent: true });
    await channel.waitForConfirms();
    await raw.close();

    await waitFor(
      async () => (await getQueueStats(settings.managementUrl, brand, deadLetterQueueName('bus-test'))).messages === 1,
      'the malformed event in the dead-letter queue',
      30_000,
    );
    const after = balanceChanged(brand, 4);
    await publisher.publishBatch([toMessage(after)]);
    await waitFor(() => handled.some((received) => received.id === after.id), 'an event after the malformed one', 30_000);
  });

  it('keeps an event no queue is bound for', async () => {
    const event = balanceChanged(brand, 8);
    await publisher.publishBatch([{ ...toMessage(event), routingKey: 'nobody.listens' }]);

    const raw = await amqp.connect(vhost.amqpUrl);
    const channel = await raw.createChannel();
    const message = await channel.get(UNROUTED_QUEUE, { noAck: true });
    await raw.close();
    assert.ok(message !== false, 'the unrouted queue holds the event');
    assert.equal(message.properties.messageId, event.id, 'it is the event just published');
  });

  it('resubscribes after the broker cancels its consumer', async () => {
    const raw = await amqp.connect(vhost.amqpUrl);
    const channel = await raw.createChannel();
    await channel.deleteQueue(serviceQueueName('bus-test'));
    await raw.close();

    const event = balanceChanged(brand, 7);
    await waitFor(async () => {
      // Until the consumer has declared its queue again, the exchange has nowhere to route to.
      if (!publisher.isReady) return false;
      await publisher.publishBatch([toMessage(event)]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      return handled.some((received) => received.id === event.id);
    }, 'an event after the queue was deleted and declared again', 30_000);
  });

  it('rejects a publish while disconnected and recovers after a broker restart', async () => {
    execFileSync(INFRA_SCRIPT, ['stop-rabbitmq'], { stdio: 'ignore' });
    try {
      await waitFor(() => !publisher.isReady, 'the publisher to notice the broker is gone', 30_000);
      await assert.rejects(publisher.publishBatch([toMessage(balanceChanged(brand, 5))]), { code: 'BUS_PUBLISHER_UNAVAILABLE' });
    } finally {
      execFileSync(INFRA_SCRIPT, ['start-rabbitmq'], { stdio: 'ignore' });
    }

    await waitFor(() => publisher.isReady, 'the publisher to reconnect', 60_000);
    const event = balanceChanged(brand, 6);
    await publisher.publishBatch([toMessage(event)]);
    await waitFor(() => handled.some((received) => received.id === event.id), 'an event after the restart', 30_000);
  });
});
