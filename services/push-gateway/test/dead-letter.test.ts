import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { deadLetterQueueName } from '@croupier/shared';
import amqp from 'amqplib';
import { BUS_SERVICE_NAME } from '../src/server.js';
import { buildBalanceChanged } from './helpers/events.js';
import {
  connectPlayer,
  readMetric,
  seedPlayer,
  setUpBrand,
  startTestGateway,
  tearDownBrand,
  TestResources,
  tokenProvider,
  waitFor,
  waitForBalanceVersion,
  type BrandFixture,
} from './helpers/fixtures.js';

describe('malformed events', () => {
  let fixture: BrandFixture;
  const resources = new TestResources();

  before(async () => {
    fixture = await setUpBrand('dlq');
  });
  afterEach(() => resources.closeAll());
  after(async () => {
    // before() may have failed, for example while a broker restarts.
    if ((fixture as BrandFixture | undefined) !== undefined) await tearDownBrand(fixture);
  });

  test('malformed events dead-lettered without crashing', async () => {
    const gateway = await startTestGateway(fixture, resources);
    const playerId = seedPlayer(fixture, { balanceVersion: 1 });
    const client = connectPlayer(resources, { url: gateway.url, getToken: tokenProvider(fixture, playerId) });
    await waitForBalanceVersion(client, 1);
    const notJson = Buffer.from('{ this is not json');
    const badVersion = buildBalanceChanged({ brand: fixture.brand, playerId, balanceVersion: 0 });

    await fixture.publisher.publishRaw(notJson, 'balance.changed', 'not-json');
    await fixture.publisher.publish(badVersion);
    await fixture.publisher.publish(buildBalanceChanged({ brand: fixture.brand, playerId, balanceVersion: 2 }));
    await waitForBalanceVersion(client, 2);
    const deadLettered = await readDeadLetters(fixture.amqpUrl, 2);

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
