import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import type { BusConnection } from './connection.js';
import { declareExchanges, EVENTS_EXCHANGE } from './topology.js';

export interface OutgoingMessage {
  routingKey: string;
  /** Event id; also the AMQP message id, so consumers and the management UI see it. */
  messageId: string;
  body: Buffer;
  type: string;
  headers?: Record<string, string>;
}

export class PublisherUnavailableError extends Error {
  readonly code = 'BUS_PUBLISHER_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'PublisherUnavailableError';
  }
}

/**
 * Publishes persistent messages on a confirm channel. `publishBatch` resolves
 * only after the broker has confirmed every message in it, and rejects if any
 * is nacked or the channel is lost, so a caller such as the outbox relay marks
 * rows as sent only when the broker has stored them. A message no consumer's
 * queue is bound for is stored in the unrouted queue.
 */
export class BusPublisher {
  private channel: ConfirmChannel | undefined;

  constructor(
    private readonly connection: BusConnection,
    private readonly logger: Logger,
  ) {
    connection.onSetup(async (model) => {
      const channel = await model.createConfirmChannel();
      channel.on('error', (error: unknown) => {
        this.logger.warn({ err: error }, 'publisher channel error');
      });
      channel.on('close', () => {
        if (this.channel !== channel) return;
        this.channel = undefined;
        // A channel closes alone on a channel-level error; without a recycle
        // the connection would stay up with nothing to publish on.
        this.connection.recycle('publisher channel closed');
      });
      await declareExchanges(channel);
      this.channel = channel;
    });
  }

  get isReady(): boolean {
    return this.channel !== undefined;
  }

  async publishBatch(messages: readonly OutgoingMessage[]): Promise<void> {
    const channel = this.channel;
    if (channel === undefined) {
      throw new PublisherUnavailableError('no open publisher channel; the bus connection is down');
    }

    const confirmations = messages.map((message) => this.publishOne(channel, message));
    await Promise.all(confirmations);
  }

  private publishOne(channel: ConfirmChannel, message: OutgoingMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onConfirm = (error: unknown): void => {
        if (error === null || error === undefined) resolve();
        else reject(new PublisherUnavailableError(`broker did not confirm message ${message.messageId}: ${String(error)}`));
      };
      try {
        // publish() returning false only asks us to slow down; the message is
        // buffered and its confirmation still arrives, so it is not retried here.
        channel.publish(
          EVENTS_EXCHANGE,
          message.routingKey,
          message.body,
          {
            persistent: true,
            contentType: 'application/json',
            messageId: message.messageId,
            type: message.type,
            headers: message.headers,
          },
          onConfirm,
        );
      } catch (error) {
        reject(new PublisherUnavailableError(`publish of ${message.messageId} failed: ${(error as Error).message}`));
      }
    });
  }
}
