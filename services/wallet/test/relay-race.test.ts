import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { BusConnection, BusPublisher, nowEpochMicros, type OutgoingMessage } from '@croupier/shared';
import { createTestVhost, infraSettings, uniqueBrand } from '@croupier/shared/testing';
import type { CommittedEvent } from '../src/ledger/store.js';
import { createWalletMetrics } from '../src/metrics.js';
import { OutboxRelay } from '../src/outbox/relay.js';
import { aPlayer } from './support/builders.js';
import { createTestDatabase } from './support/database.js';
import { collectEvents, type EventCollector } from './support/events.js';
import { startTestWallet } from './support/wallet.js';

const logger = pino({ level: 'silent' });

/** Reads the unsent outbox rows as the ledger function would have returned them. */
async function readUnsentEvents(databaseUrl: string): Promise<CommittedEvent[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<CommittedEvent>(
      `SELECT outbox_id::text AS "outboxId", event_id::text AS "eventId", event_type AS type, envelope
       FROM outbox WHERE sent_at IS NULL ORDER BY outbox_id`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

async function countUnsent(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) AS count FROM outbox WHERE sent_at IS NULL');
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}

describe('outbox relay', () => {
  const settings = infraSettings();
  const brand = uniqueBrand('relay');
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let vhost: Awaited<ReturnType<typeof createTestVhost>>;
  let collector: EventCollector;

  before(async () => {
    database = await createTestDatabase(settings.pgUrl);
    vhost = await createTestVhost(settings, brand);
    collector = await collectEvents(vhost.amqpUrl);
  });

  after(async () => {
    await collector.close();
    await vhost.remove();
    await database.drop();
  });

  it('publishes rows handed off during a drain once', async () => {
    // A wallet without a bus commits a deposit, leaving its events unsent.
    const walletWithoutBus = await startTestWallet({ databaseUrl: database.url, brand });
    await aPlayer(walletWithoutBus.app, { deposit: '10.00' });
    await walletWithoutBus.close();
    const committed = await readUnsentEvents(database.url);
    assert.equal(committed.length, 2, 'the deposit wrote DepositCompleted and BalanceChanged');

    // The request that committed those rows hands them off exactly while the
    // drain publishes them, as when a claim runs during a commit.
    const connection = new BusConnection({ url: vhost.amqpUrl, connectionName: 'relay race test', logger });
    const publisher = new BusPublisher(connection, logger);
    let hasHandedOff = false;
    const publisherHandingOffOnFirstBatch = {
      get isReady(): boolean {
        return publisher.isReady;
      },
      async publishBatch(messages: readonly OutgoingMessage[]): Promise<void> {
        if (!hasHandedOff) {
          hasHandedOff = true;
          relay.handOff(committed, nowEpochMicros());
        }
        await publisher.publishBatch(messages);
      },
    };
    const relay = new OutboxRelay({
      databaseUrl: database.url,
      publisher: publisherHandingOffOnFirstBatch,
      connection,
      batchSize: 500,
      logger,
      metrics: createWalletMetrics(brand, async () => 0),
    });
    relay.start();
    await connection.start();

    try {
      await collector.waitFor((events) => committed.every((event) => events.some((received) => received.id === event.eventId)), 5_000);
      const deadline = Date.now() + 5_000;
      while ((await countUnsent(database.url)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      // A second publish, if any, follows right after the first.
      await new Promise((resolve) => setTimeout(resolve, 300));

      assert.ok(hasHandedOff, 'the hand-off happened during a drain');
      assert.equal(await countUnsent(database.url), 0, 'every row is marked sent');
      for (const event of committed) {
        const copies = collector.events.filter((received) => received.id === event.eventId).length;
        assert.equal(copies, 1, `${event.type} ${event.eventId} published once`);
      }
      assert.equal(relay.pendingHandOffs, 0, 'nothing left queued in memory');
    } finally {
      await relay.stop(1_000);
      await connection.close();
    }
  });
});
