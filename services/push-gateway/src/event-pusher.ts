import type { EventHandler } from '@croupier/shared';
import {
  COMPLIANCE_QUEUE_ROOM,
  nowEpochMicros,
  parseIsoMicros,
  playerRoom,
  watchedPlayerRoom,
  type EventEnvelope,
} from '@croupier/shared/contracts';
import type { Logger } from 'pino';
import type { RedisDeduplicator } from './deduplicator.js';
import {
  isTransactionEvent,
  toBalanceUpdate,
  toFlagChange,
  toInterventionPrompt,
  toInterventionView,
  toPlayerTransaction,
} from './event-views.js';
import type { GatewayMetrics } from './metrics.js';
import type { BackofficeNamespace, PlayerNamespace } from './socket-types.js';

/**
 * Routing keys the gateway's queue is bound to: balance changes and
 * interventions for players, and the transactions and flag changes that the
 * back office shows live.
 */
export const BUS_BINDING_PATTERNS = [
  'balance.#',
  'intervention.triggered',
  'compliance.flag_changed',
  'game.bet_placed',
  'game.win_credited',
  'game.bet_rolled_back',
  'payment.#',
  'bonus.credited',
] as const;

export interface EventPusherDependencies {
  brand: string;
  players: PlayerNamespace;
  /** Undefined when the back office is disabled; its pushes are skipped then. */
  backoffice: BackofficeNamespace | undefined;
  deduplicator: RedisDeduplicator;
  metrics: GatewayMetrics;
}

/**
 * Creates the bus handler that turns events into pushes:
 *
 * - BalanceChanged: `balance:changed` to the player, `player:balance` to the player's watchers.
 * - InterventionTriggered: `intervention:prompt` to the player when `actions` contain
 *   `prompt`, and `player:intervention` to the watchers in every case.
 * - ComplianceFlagChanged: `flag:changed` to the watchers and the compliance queue.
 * - Bets, wins, rollbacks, payments and bonus credits: `player:transaction` to the watchers.
 *
 * Room broadcasts go through the Redis adapter, so sockets on any replica
 * receive them although only this replica consumed the event. Other event
 * types that match the bindings are acknowledged and skipped.
 */
export function createEventPusher(dependencies: EventPusherDependencies): EventHandler {
  return async (event, logger) => {
    if (event.brand !== dependencies.brand) {
      logger.error({ eventBrand: event.brand }, 'skipping an event of another brand that reached this brand vhost');
      return;
    }

    try {
      pushEvent(event, dependencies, logger);
    } catch (error) {
      // The consumer requeues the delivery; drop the claim so that retry pushes it.
      await dependencies.deduplicator.releaseClaim(event.id);
      throw error;
    }
  };
}

function pushEvent(event: EventEnvelope, dependencies: EventPusherDependencies, logger: Logger): void {
  const { players, backoffice, metrics } = dependencies;
  const watchers = backoffice?.to(watchedPlayerRoom(event.playerId));

  switch (event.type) {
    case 'BalanceChanged': {
      const update = toBalanceUpdate(event);
      players.to(playerRoom(event.playerId)).emit('balance:changed', update);
      metrics.pushesEmitted.inc();
      metrics.commitToEmitLatency.observe(secondsSince(event.committedAt));
      if (watchers !== undefined) {
        watchers.emit('player:balance', update);
        metrics.backofficePushesEmitted.inc({ event: 'player:balance' });
      }
      logger.debug({ balanceVersion: update.balanceVersion }, 'balance change pushed');
      return;
    }

    case 'InterventionTriggered': {
      if (event.data.actions.includes('prompt')) {
        players.to(playerRoom(event.playerId)).emit('intervention:prompt', toInterventionPrompt(event));
        metrics.promptsEmitted.inc();
        logger.debug({ interventionId: event.data.interventionId }, 'intervention prompt pushed');
      }
      if (watchers !== undefined) {
        watchers.emit('player:intervention', toInterventionView(event));
        metrics.backofficePushesEmitted.inc({ event: 'player:intervention' });
      }
      return;
    }

    case 'ComplianceFlagChanged': {
      if (backoffice === undefined) return;
      // A socket in both rooms receives the change once.
      backoffice.to(watchedPlayerRoom(event.playerId)).to(COMPLIANCE_QUEUE_ROOM).emit('flag:changed', toFlagChange(event));
      metrics.backofficePushesEmitted.inc({ event: 'flag:changed' });
      logger.debug({ flagId: event.data.flagId, status: event.data.status }, 'flag change pushed');
      return;
    }

    default: {
      if (isTransactionEvent(event)) {
        if (watchers === undefined) return;
        watchers.emit('player:transaction', toPlayerTransaction(event));
        metrics.backofficePushesEmitted.inc({ event: 'player:transaction' });
        return;
      }
      logger.debug('skipping an event type the gateway does not push');
    }
  }
}

/** Seconds from `timestamp` to now, at microsecond resolution; 0 when clocks disagree and the result is negative. */
function secondsSince(timestamp: string): number {
  let thenMicros = parseIsoMicros(timestamp);
  if (Number.isNaN(thenMicros)) thenMicros = Date.parse(timestamp) * 1000;
  return Math.max(0, (nowEpochMicros() - thenMicros) / 1_000_000);
}
