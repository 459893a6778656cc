import type { Channel } from 'amqplib';

/**
 * Names and declarations of the per-brand topology. Each brand has its own
 * vhost, so these names repeat across brands without clashing.
 */
export const EVENTS_EXCHANGE = 'croupier.events';
export const DEAD_LETTER_EXCHANGE = 'croupier.events.dead-letter';

/**
 * Alternate exchange of the events exchange. The broker confirms an event
 * that no queue is bound for, and without this exchange it would drop it
 * while the outbox relay marks it sent. Such events land in a bounded queue
 * instead, where they can be inspected or moved once a consumer exists.
 */
export const UNROUTED_EXCHANGE = 'croupier.events.unrouted';
export const UNROUTED_QUEUE = 'croupier.events.unrouted';
/** Bound of the unrouted queue; past it the oldest events are dropped. */
export const UNROUTED_MAX_LENGTH = 100_000;

/** Redeliveries of one message before the quorum queue dead-letters it. */
export const DEFAULT_DELIVERY_LIMIT = 10;

export function serviceQueueName(service: string): string {
  return `${service}.events`;
}

export function deadLetterQueueName(service: string): string {
  return `${service}.events.dead-letter`;
}

/**
 * Declares the brand's exchanges. Every service and tool must declare them
 * through this function, because RabbitMQ rejects a second declaration of an
 * exchange with different arguments.
 */
export async function declareExchanges(channel: Channel): Promise<void> {
  await channel.assertExchange(UNROUTED_EXCHANGE, 'fanout', { durable: true });
  await channel.assertQueue(UNROUTED_QUEUE, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum', 'x-max-length': UNROUTED_MAX_LENGTH, 'x-overflow': 'drop-head' },
  });
  await channel.bindQueue(UNROUTED_QUEUE, UNROUTED_EXCHANGE, '');
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true, alternateExchange: UNROUTED_EXCHANGE });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
}

export interface ServiceQueueOptions {
  service: string;
  /** Topic patterns the service consumes, such as `balance.#`. */
  bindingPatterns: readonly string[];
  deliveryLimit?: number;
}

/**
 * Declares the service's quorum queue, bound to the events exchange, and its
 * dead-letter queue. Messages rejected without requeue, or redelivered more
 * than the delivery limit, land in the dead-letter queue for inspection.
 */
export async function declareServiceQueue(channel: Channel, options: ServiceQueueOptions): Promise<string> {
  const queue = serviceQueueName(options.service);
  const deadLetterQueue = deadLetterQueueName(options.service);

  await declareExchanges(channel);
  await channel.assertQueue(deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(deadLetterQueue, DEAD_LETTER_EXCHANGE, queue);

  await channel.assertQueue(queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
      'x-dead-letter-routing-key': queue,
      'x-delivery-limit': options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT,
    },
  });
  for (const pattern of options.bindingPatterns) {
    await channel.bindQueue(queue, EVENTS_EXCHANGE, pattern);
  }
  return queue;
}
