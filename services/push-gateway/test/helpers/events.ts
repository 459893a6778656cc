import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import {
  CURRENT_SCHEMA_VERSION,
  formatIsoMicros,
  nowEpochMicros,
  ROUTING_KEYS,
  type BalanceChangeReason,
  type EventEnvelope,
} from '@croupier/shared/contracts';
import { declareExchanges, EVENTS_EXCHANGE } from '@croupier/shared';

export interface BalanceChangedFields {
  brand: string;
  playerId: string;
  balanceVersion: number;
  cashMinor?: number;
  bonusMinor?: number;
  currency?: string;
  reason?: BalanceChangeReason;
  id?: string;
}

/** Builds a valid BalanceChanged envelope as the wallet's outbox relay would publish it. */
export function buildBalanceChanged(fields: BalanceChangedFields): EventEnvelope<'BalanceChanged'> {
  const now = formatIsoMicros(nowEpochMicros());
  return {
    id: fields.id ?? randomUUID(),
    type: 'BalanceChanged',
    schemaVersion: CURRENT_SCHEMA_VERSION,
    brand: fields.brand,
    playerId: fields.playerId,
    occurredAt: now,
    committedAt: now,
    data: {
      currency: fields.currency ?? 'EUR',
      cashMinor: fields.cashMinor ?? fields.balanceVersion * 100,
      bonusMinor: fields.bonusMinor ?? 0,
      balanceVersion: fields.balanceVersion,
      reason: fields.reason ?? 'deposit',
      transactionId: randomUUID(),
    },
  };
}

/** Publishes events to the brand vhost's events exchange with publisher confirms, like the wallet does. */
export class TestEventPublisher {
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
  ) {}

  static async connect(amqpUrl: string): Promise<TestEventPublisher> {
    const connection = await amqp.connect(amqpUrl);
    connection.on('error', () => undefined);
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    await declareExchanges(channel);
    return new TestEventPublisher(connection, channel);
  }

  async publish(event: EventEnvelope): Promise<void> {
    await this.publishRaw(Buffer.from(JSON.stringify(event)), ROUTING_KEYS[event.type], event.id);
  }

  /** Publishes all events, then waits for the broker's confirms once, so they reach the queue back to back. */
  async publishMany(events: EventEnvelope[]): Promise<void> {
    for (const event of events) {
      this.channel.publish(EVENTS_EXCHANGE, ROUTING_KEYS[event.type], Buffer.from(JSON.stringify(event)), {
        persistent: true,
        contentType: 'application/json',
        messageId: event.id,
      });
    }
    await this.channel.waitForConfirms();
  }

  async publishRaw(body: Buffer, routingKey: string, messageId: string = randomUUID()): Promise<void> {
    this.channel.publish(EVENTS_EXCHANGE, routingKey, body, {
      persistent: true,
      contentType: 'application/json',
      messageId,
    });
    await this.channel.waitForConfirms();
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
