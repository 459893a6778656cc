import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import {
  CURRENT_SCHEMA_VERSION,
  formatIsoMicros,
  nowEpochMicros,
  ROUTING_KEYS,
  type BalanceChangeReason,
  type EventEnvelope,
  type FlagStatus,
  type InterventionAction,
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

export interface InterventionFields {
  brand: string;
  playerId: string;
  actions?: InterventionAction[];
  message?: string;
  interventionId?: string;
  flagId?: string | null;
  id?: string;
}

/** Builds a valid InterventionTriggered envelope as the rules service would publish it. */
export function buildInterventionTriggered(fields: InterventionFields): EventEnvelope<'InterventionTriggered'> {
  const now = formatIsoMicros(nowEpochMicros());
  return {
    id: fields.id ?? randomUUID(),
    type: 'InterventionTriggered',
    schemaVersion: CURRENT_SCHEMA_VERSION,
    brand: fields.brand,
    playerId: fields.playerId,
    occurredAt: now,
    committedAt: now,
    data: {
      interventionId: fields.interventionId ?? randomUUID(),
      ruleId: 'deposits-per-day',
      ruleKind: 'windowed_sum',
      severity: 'medium',
      actions: fields.actions ?? ['prompt'],
      message: fields.message ?? 'You have deposited a lot today. Take a break?',
      triggeringEventId: randomUUID(),
      triggeringCommittedAt: now,
      windowStart: now,
      windowEnd: now,
      currency: 'EUR',
      values: { sumMinor: 60_000 },
      thresholds: { sumMinor: 50_000 },
      flagId: fields.flagId ?? null,
    },
  };
}

export interface FlagChangeFields {
  brand: string;
  playerId: string;
  flagId?: string;
  status: FlagStatus;
  previousStatus?: FlagStatus | null;
  note?: string | null;
}

/** Builds a valid ComplianceFlagChanged envelope as the rules service would publish it. */
export function buildComplianceFlagChanged(fields: FlagChangeFields): EventEnvelope<'ComplianceFlagChanged'> {
  const now = formatIsoMicros(nowEpochMicros());
  return {
    id: randomUUID(),
    type: 'ComplianceFlagChanged',
    schemaVersion: CURRENT_SCHEMA_VERSION,
    brand: fields.brand,
    playerId: fields.playerId,
    occurredAt: now,
    committedAt: now,
    data: {
      flagId: fields.flagId ?? randomUUID(),
      interventionId: randomUUID(),
      ruleId: 'deposits-per-day',
      severity: 'high',
      status: fields.status,
      previousStatus: fields.previousStatus ?? null,
      changedBy: 'rules',
      note: fields.note ?? null,
    },
  };
}

/** Builds a valid BetPlaced envelope as the wallet's outbox relay would publish it. */
export function buildBetPlaced(fields: { brand: string; playerId: string; amountMinor: number }): EventEnvelope<'BetPlaced'> {
  const now = formatIsoMicros(nowEpochMicros());
  return {
    id: randomUUID(),
    type: 'BetPlaced',
    schemaVersion: CURRENT_SCHEMA_VERSION,
    brand: fields.brand,
    playerId: fields.playerId,
    occurredAt: now,
    committedAt: now,
    data: {
      provider: 'acme-games',
      providerTransactionId: `bet-${randomUUID()}`,
      roundId: `round-${randomUUID()}`,
      gameId: 'starlight-slots',
      currency: 'EUR',
      amountMinor: fields.amountMinor,
      fromCashMinor: fields.amountMinor,
      fromBonusMinor: 0,
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
