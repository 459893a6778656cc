import type { EventEnvelope } from '@croupier/shared/contracts';
import type { Measure } from '../rules/schema.js';

/** One event's effect on one measure. `counted` marks the entries that windowed_count and structuring count. */
export interface Contribution {
  measure: Measure;
  currency: string;
  amountMinor: number;
  counted: boolean;
}

/** Routing keys of the events the rules read; the service binds its queue to these. */
export const CONSUMED_ROUTING_KEYS = [
  'payment.deposit_completed',
  'payment.withdrawal_requested',
  'game.bet_placed',
  'game.win_credited',
  'game.bet_rolled_back',
  'game.round_ended',
  'bonus.credited',
] as const;

/**
 * Maps an event to what it adds to each measure. A rollback takes its stake
 * back out of `stakes` and `net_loss`, unless it is a tombstone (the bet was
 * never booked, so there is nothing to take out).
 */
export function contributionsOf(event: EventEnvelope): Contribution[] {
  const entry = (measure: Measure, currency: string, amountMinor: number, counted = true): Contribution => ({
    measure,
    currency,
    amountMinor,
    counted,
  });
  switch (event.type) {
    case 'DepositCompleted':
      return [entry('deposits', event.data.currency, event.data.amountMinor)];
    case 'WithdrawalRequested':
      return [entry('withdrawals', event.data.currency, event.data.amountMinor)];
    case 'BetPlaced':
      return [entry('stakes', event.data.currency, event.data.amountMinor), entry('net_loss', event.data.currency, event.data.amountMinor)];
    case 'WinCredited':
      return [entry('wins', event.data.currency, event.data.amountMinor), entry('net_loss', event.data.currency, -event.data.amountMinor)];
    case 'BetRolledBack':
      if (event.data.tombstone) return [];
      return [
        entry('stakes', event.data.currency, -event.data.amountMinor, false),
        entry('net_loss', event.data.currency, -event.data.amountMinor, false),
      ];
    case 'BonusCredited':
      return [entry('bonus_credits', event.data.currency, event.data.amountMinor)];
    default:
      return [];
  }
}

/** Game events count as play for session_length rules. Returns the event's currency, or undefined for other events. */
export function activityCurrencyOf(event: EventEnvelope): string | undefined {
  switch (event.type) {
    case 'BetPlaced':
    case 'WinCredited':
    case 'BetRolledBack':
    case 'GameRoundEnded':
      return event.data.currency;
    default:
      return undefined;
  }
}
