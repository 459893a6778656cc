import type pg from 'pg';
import type { Logger } from 'pino';
import type { BusConnection, BusPublisher, EventType } from '@croupier/shared';
import { inTransaction } from '../db/pool.js';
import { OutboxWorker } from './worker.js';

interface OutboxRow {
  outbox_id: string;
  event_id: string;
  event_type: EventType;
  routing_key: string;
  envelope: Record<string, unknown>;
  created_at: Date;
}

const CLAIM_SQL = `SELECT outbox_id, event_id, event_type, routing_key, envelope, created_at FROM rules.outbox
  ORDER BY outbox_id LIMIT $1 FOR UPDATE SKIP LOCKED`;

/**
 * Publishes rules.outbox with publisher confirms and deletes each row once
 * the broker has confirmed it, in the transaction that claimed it. Woken
 * after each commit that wrote events, at start and on every bus reconnect.
 * A crash between the confirm and the commit publishes a row twice, which
 * consumers de-duplicate by event id.
 */
export class EventRelay {
  private readonly worker: OutboxWorker;
  private readonly onConnected = (): void => this.worker.wake('bus connected');

  constructor(
    private readonly options: {
      pool: pg.Pool;
      publisher: BusPublisher;
      connection: BusConnection;
      batchSize: number;
      logger: Logger;
      onPublished?: (count: number) => void;
      onFailure?: () => void;
    },
  ) {
    this.worker = new OutboxWorker({
      name: 'events',
      logger: options.logger,
      isReady: () => options.publisher.isReady,
      runBatch: () => this.publishBatch(),
      onFailure: () => options.onFailure?.(),
    });
  }

  start(): void {
    this.options.connection.on('connected', this.onConnected);
    this.worker.wake('relay started');
  }

  wake(reason: string): void {
    this.worker.wake(reason);
  }

  idle(): Promise<void> {
    return this.worker.idle();
  }

  async stop(timeoutMs: number): Promise<void> {
    this.options.connection.off('connected', this.onConnected);
    await this.worker.stop(timeoutMs);
  }

  private async publishBatch(): Promise<boolean> {
    const { pool, publisher, batchSize, logger } = this.options;
    const count = await inTransaction(pool, async (client) => {
      const { rows } = await client.query<OutboxRow>(CLAIM_SQL, [batchSize]);
      if (rows.length === 0) return 0;
      await publisher.publishBatch(
        rows.map((row) => ({
          routingKey: row.routing_key,
          messageId: row.event_id,
          type: row.event_type,
          body: Buffer.from(JSON.stringify({ ...row.envelope, committedAt: row.created_at.toISOString() })),
        })),
      );
      await client.query('DELETE FROM rules.outbox WHERE outbox_id = ANY($1::bigint[])', [rows.map((row) => row.outbox_id)]);
      return rows.length;
    });
    if (count > 0) {
      logger.debug({ events: count }, 'published outbox events');
      this.options.onPublished?.(count);
    }
    return count === batchSize;
  }
}
