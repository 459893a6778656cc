import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../contracts/events.js';
import { EventValidationError, parseEvent } from '../contracts/validate.js';
import type { BusConnection } from './connection.js';
import { declareServiceQueue } from './topology.js';

/**
 * Records which event ids a consumer has processed. Delivery is at least
 * once, so every consumer checks it before acting on an event.
 */
export interface Deduplicator {
  /**
   * Returns true when the event was already processed, or is being processed
   * by another consumer, and must be skipped. `redelivered` is the broker's
   * flag: the delivery went out before and was never acknowledged, so the
   * consumer that had it died or gave it back.
   */
  isProcessed(eventId: string, redelivered: boolean): Promise<boolean>;
  markProcessed(eventId: string): Promise<void>;
}

export type EventHandler = (event: EventEnvelope, logger: Logger) => Promise<void>;

export interface BusConsumerOptions {
  service: string;
  bindingPatterns: readonly string[];
  /** Unacknowledged deliveries in flight at once on this consumer. */
  prefetch: number;
  deduplicator: Deduplicator;
  handler: EventHandler;
  logger: Logger;
  deliveryLimit?: number;
  /** Called after each message outcome, for metrics. */
  onOutcome?: (outcome: ConsumeOutcome, event: EventEnvelope | undefined) => void;
}

export type ConsumeOutcome = 'processed' | 'duplicate' | 'dead_lettered' | 'requeued';

/**
 * Consumes a service's quorum queue with manual acknowledgements. A message
 * that fails validation is dead-lettered at once. A handler failure is
 * requeued, and the queue's delivery limit dead-letters a message that keeps
 * failing. The consumer re-subscribes after every reconnect.
 */
export class BusConsumer {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Event id to the task handling it, so a second copy waits for the first instead of racing it. */
  private readonly inFlightByEventId = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly connection: BusConnection,
    private readonly options: BusConsumerOptions,
  ) {}

  start(): void {
    this.connection.onSetup(async (model) => {
      if (this.stopped) return;
      const channel = await model.createChannel();
      channel.on('error', (error: unknown) => {
        this.options.logger.warn({ err: error }, 'consumer channel error');
      });
      channel.on('close', () => {
        if (this.channel !== channel) return;
        this.channel = undefined;
        this.consumerTag = undefined;
        if (!this.stopped) this.connection.recycle('consumer channel closed');
      });

      await channel.prefetch(this.options.prefetch);
      const queue = await declareServiceQueue(channel, {
        service: this.options.service,
        bindingPatterns: this.options.bindingPatterns,
        deliveryLimit: this.options.deliveryLimit,
      });
      const reply = await channel.consume(queue, (message) => this.track(channel, message), { noAck: false });

      this.channel = channel;
      this.consumerTag = reply.consumerTag;
      this.options.logger.info({ queue, prefetch: this.options.prefetch }, 'consuming events');
    });
  }

  /**
   * Stops taking new deliveries and waits for the ones in flight. Unacked
   * deliveries go back to the queue when the channel closes, for another
   * replica to take.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const channel = this.channel;
    if (channel !== undefined && this.consumerTag !== undefined) {
      await channel.cancel(this.consumerTag).catch(() => undefined);
    }
    await Promise.allSettled([...this.inFlight]);
    if (channel !== undefined) await channel.close().catch(() => undefined);
    this.channel = undefined;
  }

  private track(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancels a consumer when its queue is deleted or its node fails.
      this.options.logger.warn('consumer was cancelled by the broker; resubscribing');
      this.connection.recycle('consumer cancelled by the broker');
      return;
    }
    const task = this.handle(channel, message).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const { logger: baseLogger, onOutcome } = this.options;

    let event: EventEnvelope;
    try {
      event = parseEvent(message.content);
    } catch (error) {
      const code = error instanceof EventValidationError ? error.code : 'EVENT_MALFORMED';
      baseLogger.error(
        { err: error, code, messageId: message.properties.messageId, routingKey: message.fields.routingKey },
        'dead-lettering an event that failed validation',
      );
      safeAck(() => channel.nack(message, false, false), baseLogger);
      onOutcome?.('dead_lettered', undefined);
      return;
    }

    const logger = baseLogger.child({ eventId: event.id, eventType: event.type, playerId: event.playerId });

    // Two copies of one event can be in flight on this channel at once (a
    // replayed outbox row, say). The second waits for the first and then
    // finds it processed. Copies on two replicas at once are the
    // deduplicator's to settle; where it cannot (see the gateway's Redis
    // deduplicator), handlers tolerate a second copy.
    const earlier = this.inFlightByEventId.get(event.id);
    const current = this.process(channel, message, event, logger, earlier);
    this.inFlightByEventId.set(event.id, current);
    await current;
    if (this.inFlightByEventId.get(event.id) === current) this.inFlightByEventId.delete(event.id);
  }

  private async process(
    channel: Channel,
    message: ConsumeMessage,
    event: EventEnvelope,
    logger: Logger,
    earlier: Promise<void> | undefined,
  ): Promise<void> {
    const { deduplicator, handler, onOutcome } = this.options;
    if (earlier !== undefined) await earlier;
    try {
      if (await deduplicator.isProcessed(event.id, message.fields.redelivered)) {
        logger.debug('skipping an event that was already processed');
        safeAck(() => channel.ack(message), logger);
        onOutcome?.('duplicate', event);
        return;
      }
      await handler(event, logger);
      await deduplicator.markProcessed(event.id);
      safeAck(() => channel.ack(message), logger);
      onOutcome?.('processed', event);
    } catch (error) {
      logger.warn({ err: error, redelivered: message.fields.redelivered }, 'event handler failed, requeueing');
      safeAck(() => channel.nack(message, false, true), logger);
      onOutcome?.('requeued', event);
    }
  }
}

/** Acks on a closed channel throw; the broker redelivers those messages anyway. */
function safeAck(acknowledge: () => void, logger?: Logger): void {
  try {
    acknowledge();
  } catch (error) {
    // The channel closed under us, so the delivery returns to the queue.
    logger?.debug({ err: error }, 'acknowledgement on a closed channel skipped; the broker redelivers');
  }
}
