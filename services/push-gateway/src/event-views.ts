import type {
  BalanceUpdate,
  EventEnvelope,
  FlagChange,
  InterventionPrompt,
  InterventionView,
  PlayerTransaction,
} from '@croupier/shared/contracts';

/** Event types the back office shows as a player's transactions. */
export type TransactionEventType =
  | 'BetPlaced'
  | 'WinCredited'
  | 'BetRolledBack'
  | 'DepositCompleted'
  | 'WithdrawalRequested'
  | 'WithdrawalCompleted'
  | 'WithdrawalFailed'
  | 'BonusCredited';

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

export function toInterventionPrompt(event: EventEnvelope<'InterventionTriggered'>): InterventionPrompt {
  return {
    eventId: event.id,
    interventionId: event.data.interventionId,
    playerId: event.playerId,
    ruleId: event.data.ruleId,
    severity: event.data.severity,
    message: event.data.message,
    triggeredAt: event.committedAt,
    triggeringCommittedAt: event.data.triggeringCommittedAt,
  };
}

export function toInterventionView(event: EventEnvelope<'InterventionTriggered'>): InterventionView {
  return {
    interventionId: event.data.interventionId,
    playerId: event.playerId,
    ruleId: event.data.ruleId,
    ruleKind: event.data.ruleKind,
    severity: event.data.severity,
    actions: event.data.actions,
    message: event.data.message,
    flagId: event.data.flagId,
    values: event.data.values,
    thresholds: event.data.thresholds,
    triggeredAt: event.committedAt,
  };
}

export function toFlagChange(event: EventEnvelope<'ComplianceFlagChanged'>): FlagChange {
  return {
    eventId: event.id,
    flagId: event.data.flagId,
    playerId: event.playerId,
    interventionId: event.data.interventionId,
    ruleId: event.data.ruleId,
    severity: event.data.severity,
    status: event.data.status,
    previousStatus: event.data.previousStatus,
    note: event.data.note,
    changedBy: event.data.changedBy,
    updatedAt: event.committedAt,
  };
}

export function isTransactionEvent(event: EventEnvelope): event is EventEnvelope<TransactionEventType> {
  return TRANSACTION_EVENT_TYPES.has(event.type);
}

const TRANSACTION_EVENT_TYPES: ReadonlySet<string> = new Set<TransactionEventType>([
  'BetPlaced',
  'WinCredited',
  'BetRolledBack',
  'DepositCompleted',
  'WithdrawalRequested',
  'WithdrawalCompleted',
  'WithdrawalFailed',
  'BonusCredited',
]);

export function toPlayerTransaction(event: EventEnvelope<TransactionEventType>): PlayerTransaction {
  const common = { playerId: event.playerId, committedAt: event.committedAt };
  const noGame = { provider: null, gameId: null, roundId: null };

  switch (event.type) {
    case 'BetPlaced':
    case 'WinCredited':
      return {
        ...common,
        kind: event.type === 'BetPlaced' ? 'bet' : 'win',
        reference: event.data.providerTransactionId,
        currency: event.data.currency,
        amountMinor: event.data.amountMinor,
        provider: event.data.provider,
        gameId: event.data.gameId,
        roundId: event.data.roundId,
      };
    case 'BetRolledBack':
      return {
        ...common,
        kind: 'rollback',
        reference: event.data.providerTransactionId,
        currency: event.data.currency,
        amountMinor: event.data.amountMinor,
        provider: event.data.provider,
        gameId: null,
        roundId: event.data.roundId,
      };
    case 'DepositCompleted':
      return { ...common, ...noGame, kind: 'deposit', reference: event.data.paymentReference, currency: event.data.currency, amountMinor: event.data.amountMinor };
    case 'WithdrawalRequested':
      return { ...common, ...noGame, kind: 'withdrawal_requested', reference: event.data.paymentReference, currency: event.data.currency, amountMinor: event.data.amountMinor };
    case 'WithdrawalCompleted':
      return { ...common, ...noGame, kind: 'withdrawal_completed', reference: event.data.paymentReference, currency: event.data.currency, amountMinor: event.data.amountMinor };
    case 'WithdrawalFailed':
      return { ...common, ...noGame, kind: 'withdrawal_failed', reference: event.data.paymentReference, currency: event.data.currency, amountMinor: event.data.amountMinor };
    case 'BonusCredited':
      return { ...common, ...noGame, kind: 'bonus', reference: event.data.bonusReference, currency: event.data.currency, amountMinor: event.data.amountMinor };
  }
}
