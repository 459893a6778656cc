import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deadLetterQueueName } from '@croupier/shared';
import amqp from 'amqplib';
import { BUS_SERVICE_NAME } from '../src/server.js';
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

describe('malformed events', () => {
  const brand = useBrandFixture('dlq');
  const { resources } = brand;

  test('malformed events dead-lettered without crashing', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(brand.fixture, playerId) });
    await waitForBalanceVersion(client, 1);
    const notJson = Buffer.from('{ this is not json');
    const badVersion = buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 0 });

    await brand.fixture.publisher.publishRaw(notJson, 'balance.changed', 'not-json');
    await brand.fixture.publisher.publish(badVersion);
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 2 }));
    await waitForBalanceVersion(client, 2);
    const deadLettered = await readDeadLetters(brand.fixture.amqpUrl, 2);

    assert.deepEqual(
      deadLettered.map((message) => message.messageId).sort(),
      [badVersion.id, 'not-json'].sort(),
      'both malformed messages are in the dead-letter queue',
    );
    assert.equal(deadLettered.find((message) => message.messageId === 'not-json')?.body, notJson.toString(), 'body kept as sent');
    assert.equal(
      await readMetric(gateway.url, 'push_gateway_events_consumed_total', { outcome: 'dead_lettered' }),
      2,
      'dead-lettered messages are counted',
    );
    assert.equal(client.balance?.balanceVersion, 2, 'the valid event after them was pushed');
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200, 'the gateway is still up');
  });
});

async function readDeadLetters(amqpUrl: string, count: number): Promise<{ messageId: string; body: string }[]> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    const queue = deadLetterQueueName(BUS_SERVICE_NAME);
    const messages: { messageId: string; body: string }[] = [];
    await waitFor(
      async () => {
        const message = await channel.get(queue, { noAck: true });
        if (message !== false) {
          messages.push({ messageId: String(message.properties.messageId), body: message.content.toString() });
        }
        return messages.length >= count || undefined;
      },
      `${count} messages in ${queue}`,
    );
    return messages;
  } finally {
    await connection.close();
  }
}
