import amqp from 'amqplib';
import { declareExchanges, EVENTS_EXCHANGE, parseEvent, type EventEnvelope } from '@croupier/shared';

export interface EventCollector {
  events: EventEnvelope[];
  /** Bodies that failed parseEvent, with the reason. */
  invalid: string[];
  waitFor: (predicate: (events: EventEnvelope[]) => boolean, timeoutMs: number) => Promise<void>;
  close: () => Promise<void>;
}

/** Consumes every event of a vhost into memory through an exclusive queue bound to '#'. */
export async function collectEvents(amqpUrl: string): Promise<EventCollector> {
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createChannel();
  await declareExchanges(channel);
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, EVENTS_EXCHANGE, '#');

  const events: EventEnvelope[] = [];
  const invalid: string[] = [];
  await channel.consume(
    queue,
    (message) => {
      if (message === null) return;
      try {
        events.push(parseEvent(message.content));
      } catch (error) {
        invalid.push(`${(error as Error).message}: ${message.content.toString()}`);
      }
    },
    { noAck: true },
  );

  return {
    events,
    invalid,
    waitFor: async (predicate, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(events)) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms with ${events.length} events received`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: async () => {
      await connection.close();
    },
  };
}
