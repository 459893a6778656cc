import { EVENTS_EXCHANGE, type BusConnection } from '@croupier/shared';
import { nowEpochMicros, ROUTING_KEYS, type EventEnvelope } from '@croupier/shared/contracts';

/**
 * Subscribes a temporary queue to the brand's InterventionTriggered events on
 * every (re)connect of `connection`, and calls `onEvent` with each event and
 * the microsecond it arrived. The queue goes away with the connection.
 */
export function listenForInterventions(
  connection: BusConnection,
  onEvent: (event: EventEnvelope<'InterventionTriggered'>, receivedMicros: number) => void,
): void {
  connection.onSetup(async (model) => {
    const channel = await model.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, EVENTS_EXCHANGE, ROUTING_KEYS.InterventionTriggered);
    await channel.consume(
      queue,
      (message) => {
        if (message === null) return;
        const receivedMicros = nowEpochMicros();
        onEvent(JSON.parse(message.content.toString('utf8')) as EventEnvelope<'InterventionTriggered'>, receivedMicros);
      },
      { noAck: true },
    );
  });
}
