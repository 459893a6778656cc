import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { CURRENT_SCHEMA_VERSION, ROUTING_KEYS, type EventData, type EventType } from '@croupier/shared/contracts';

/**
 * Inserts an event into rules.outbox inside the caller's transaction. The
 * envelope lacks `committedAt`, which the relay adds from the row's insert
 * time when it publishes.
 */
export async function insertOutboxEvent<T extends EventType>(
  client: pg.PoolClient,
  event: { type: T; brand: string; playerId: string; occurredAt: Date; data: EventData<T> },
): Promise<string> {
  const eventId = randomUUID();
  const envelope = {
    id: eventId,
    type: event.type,
    schemaVersion: CURRENT_SCHEMA_VERSION,
    brand: event.brand,
    playerId: event.playerId,
    occurredAt: event.occurredAt.toISOString(),
    data: event.data,
  };
  await client.query('INSERT INTO rules.outbox (event_id, event_type, routing_key, envelope) VALUES ($1, $2, $3, $4)', [
    eventId,
    event.type,
    ROUTING_KEYS[event.type],
    JSON.stringify(envelope),
  ]);
  return eventId;
}
