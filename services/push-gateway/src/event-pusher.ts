import type { EventHandler } from '@croupier/shared';
import {
  nowEpochMicros,
  parseIsoMicros,
  playerRoom,
  type BalanceUpdate,
  type EventEnvelope,
} from '@croupier/shared/contracts';
import type { RedisDeduplicator } from './deduplicator.js';
import type { GatewayMetrics } from './metrics.js';
import type { PlayerNamespace } from './socket-types.js';

export interface BalancePusherDependencies {
  brand: string;
  namespace: PlayerNamespace;
  deduplicator: RedisDeduplicator;
  metrics: GatewayMetrics;
}

/**
 * Creates the bus handler that turns each BalanceChanged event into a
 * `balance:changed` push to the player's room. The room broadcast goes
 * through the Redis adapter, so players connected to any replica receive it
 * although only this replica consumed the event. Other event types that match
 * the binding are acknowledged and skipped.
 */
export function createBalancePusher(dependencies: BalancePusherDependencies): EventHandler {
  return async (event, logger) => {
    if (event.type !== 'BalanceChanged') {
      logger.debug('skipping an event type the gateway does not push');
      return;
    }
    if (event.brand !== dependencies.brand) {
      logger.error({ eventBrand: event.brand }, 'skipping an event of another brand that reached this brand vhost');
      return;
    }

    const update = toBalanceUpdate(event);
    try {
      dependencies.namespace.to(playerRoom(event.playerId)).emit('balance:changed', update);
    } catch (error) {
      // The consumer requeues the delivery; drop the claim so that retry pushes it.
      await dependencies.deduplicator.releaseClaim(event.id);
      throw error;
    }

    dependencies.metrics.pushesEmitted.inc();
    dependencies.metrics.commitToEmitLatency.observe(secondsSince(event.committedAt));
    logger.debug({ balanceVersion: update.balanceVersion }, 'balance change pushed');
  };
}

export function toBalanceUpdate(event: EventEnvelope<'BalanceChanged'>): BalanceUpdate {
  return {
    eventId: event.id,
    playerId: event.playerId,
    currency: event.data.currency,
    cashMinor: event.data.cashMinor,
    bonusMinor: event.data.bonusMinor,
    balanceVersion: event.data.balanceVersion,
    reason: event.data.reason,
    committedAt: event.committedAt,
  };
}

/** Seconds from `timestamp` to now, at microsecond resolution; 0 when clocks disagree and the result is negative. */
function secondsSince(timestamp: string): number {
  let thenMicros = parseIsoMicros(timestamp);
  if (Number.isNaN(thenMicros)) thenMicros = Date.parse(timestamp) * 1000;
  return Math.max(0, (nowEpochMicros() - thenMicros) / 1_000_000);
}
