import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * Versioned event contracts. Producers build events with these schemas and
 * consumers validate them on receipt, so a field renamed on one side breaks
 * the other side at compile time and at the broker boundary at run time.
 */

const AmountMinor = Type.Integer({ minimum: 0, description: 'Amount in the currency minor unit' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const IdString = Type.String({ minLength: 1, maxLength: 128 });

export const BalanceChangeReason = Type.Union([
  Type.Literal('bet'),
  Type.Literal('win'),
  Type.Literal('rollback'),
  Type.Literal('deposit'),
  Type.Literal('withdrawal'),
  Type.Literal('withdrawal_failed'),
  Type.Literal('bonus'),
]);
export type BalanceChangeReason = Static<typeof BalanceChangeReason>;

export const BalanceChangedData = Type.Object({
  currency: Currency,
  cashMinor: AmountMinor,
  bonusMinor: AmountMinor,
  balanceVersion: Type.Integer({ minimum: 1, description: 'Player wallet version, +1 per committed change' }),
  reason: BalanceChangeReason,
  transactionId: Type.String({ description: 'Wallet transaction id that caused the change' }),
});

export const BetPlacedData = Type.Object({
  provider: IdString,
  providerTransactionId: IdString,
  roundId: IdString,
  gameId: IdString,
  currency: Currency,
  amountMinor: AmountMinor,
  fromCashMinor: AmountMinor,
  fromBonusMinor: AmountMinor,
});

export const WinCreditedData = Type.Object({
  provider: IdString,
  providerTransactionId: IdString,
  roundId: IdString,
  gameId: IdString,
  currency: Currency,
  amountMinor: AmountMinor,
});

export const BetRolledBackData = Type.Object({
  provider: IdString,
  providerTransactionId: IdString,
  rolledBackTransactionId: IdString,
  roundId: IdString,
  currency: Currency,
  amountMinor: AmountMinor,
  tombstone: Type.Boolean({ description: 'True when the bet was unknown and a tombstone now blocks it' }),
});

export const GameRoundEndedData = Type.Object({
  provider: IdString,
  roundId: IdString,
  gameId: IdString,
  currency: Currency,
  totalBetMinor: AmountMinor,
  totalWinMinor: AmountMinor,
});

const PaymentData = {
  paymentReference: IdString,
  currency: Currency,
  amountMinor: AmountMinor,
};

export const DepositCompletedData = Type.Object({ ...PaymentData, method: Type.String() });
export const WithdrawalRequestedData = Type.Object(PaymentData);
export const WithdrawalCompletedData = Type.Object(PaymentData);
export const WithdrawalFailedData = Type.Object({ ...PaymentData, reason: Type.String() });

export const BonusCreditedData = Type.Object({
  bonusReference: IdString,
  currency: Currency,
  amountMinor: AmountMinor,
});

export const KycStatus = Type.Union([
  Type.Literal('unverified'),
  Type.Literal('pending'),
  Type.Literal('verified'),
  Type.Literal('rejected'),
]);
export type KycStatus = Static<typeof KycStatus>;

export const KycStatusChangedData = Type.Object({
  previousStatus: KycStatus,
  status: KycStatus,
});

export const LimitType = Type.Union([Type.Literal('deposit'), Type.Literal('loss')]);
export type LimitType = Static<typeof LimitType>;
export const LimitPeriod = Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]);
export type LimitPeriod = Static<typeof LimitPeriod>;

/**
 * A player-set responsible-gaming limit changed. A decrease applies at once;
 * an increase or removal is pending until `effectiveAt`, after the cooling-off
 * period. No timer applies it: the first wallet transaction that uses a limit
 * of that type after `effectiveAt` stores it and publishes a second event with
 * `pending: false`, so that event may come well after `effectiveAt`.
 */
export const PlayerLimitChangedData = Type.Object({
  limitType: LimitType,
  period: LimitPeriod,
  currency: Currency,
  previousAmountMinor: Type.Union([AmountMinor, Type.Null()], { description: 'Null when there was no limit' }),
  amountMinor: Type.Union([AmountMinor, Type.Null()], { description: 'Null when the limit is removed' }),
  effectiveAt: Type.String({ format: 'date-time' }),
  pending: Type.Boolean(),
  changedBy: IdString,
});

export const ExclusionKind = Type.Union([Type.Literal('timeout'), Type.Literal('self_exclusion')]);
export type ExclusionKind = Static<typeof ExclusionKind>;

/** A time-out or self-exclusion started; bets are refused from `startedAt` until `until` (null: indefinite). */
export const PlayerExclusionStartedData = Type.Object({
  kind: ExclusionKind,
  startedAt: Type.String({ format: 'date-time' }),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  changedBy: IdString,
});

export const RuleKind = Type.Union([
  Type.Literal('windowed_sum'),
  Type.Literal('windowed_count'),
  Type.Literal('session_length'),
  Type.Literal('structuring'),
  Type.Literal('bonus_escalation'),
  Type.Literal('single_transaction'),
]);
export type RuleKind = Static<typeof RuleKind>;

export const InterventionAction = Type.Union([Type.Literal('prompt'), Type.Literal('email'), Type.Literal('flag')]);
export type InterventionAction = Static<typeof InterventionAction>;

export const Severity = Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')]);
export type Severity = Static<typeof Severity>;

/**
 * A behaviour rule fired for a player. Carries what made it fire: the
 * triggering event, the window and the aggregate values at that moment.
 */
export const InterventionTriggeredData = Type.Object({
  interventionId: Type.String({ format: 'uuid' }),
  ruleId: IdString,
  ruleKind: RuleKind,
  severity: Severity,
  actions: Type.Array(InterventionAction),
  /** Text shown to the player when `actions` contains `prompt`. */
  message: Type.String({ maxLength: 1000 }),
  triggeringEventId: Type.String({ format: 'uuid' }),
  /** Commit time of the triggering event, for event-to-intervention latency. */
  triggeringCommittedAt: Type.String({ format: 'date-time' }),
  windowStart: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  windowEnd: Type.String({ format: 'date-time' }),
  currency: Type.Union([Currency, Type.Null()]),
  /** Aggregate values that crossed the threshold, such as `sumMinor` or `count`. */
  values: Type.Record(Type.String(), Type.Number()),
  /** Threshold values of the rule for this currency. */
  thresholds: Type.Record(Type.String(), Type.Number()),
  flagId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'Compliance flag raised, when `actions` contains `flag`' }),
});

export const FlagStatus = Type.Union([Type.Literal('open'), Type.Literal('in_review'), Type.Literal('resolved')]);
export type FlagStatus = Static<typeof FlagStatus>;

/** A compliance flag changed status; staff consoles update their queue from it. */
export const ComplianceFlagChangedData = Type.Object({
  flagId: Type.String({ format: 'uuid' }),
  interventionId: Type.String({ format: 'uuid' }),
  ruleId: IdString,
  severity: Severity,
  status: FlagStatus,
  previousStatus: Type.Union([FlagStatus, Type.Null()]),
  changedBy: IdString,
  note: Type.Union([Type.String({ maxLength: 4000 }), Type.Null()]),
});

/** Event type name to its data schema. One schema version per type for now. */
export const EVENT_DATA_SCHEMAS = {
  BalanceChanged: BalanceChangedData,
  BetPlaced: BetPlacedData,
  WinCredited: WinCreditedData,
  BetRolledBack: BetRolledBackData,
  GameRoundEnded: GameRoundEndedData,
  DepositCompleted: DepositCompletedData,
  WithdrawalRequested: WithdrawalRequestedData,
  WithdrawalCompleted: WithdrawalCompletedData,
  WithdrawalFailed: WithdrawalFailedData,
  BonusCredited: BonusCreditedData,
  KycStatusChanged: KycStatusChangedData,
  PlayerLimitChanged: PlayerLimitChangedData,
  PlayerExclusionStarted: PlayerExclusionStartedData,
  InterventionTriggered: InterventionTriggeredData,
  ComplianceFlagChanged: ComplianceFlagChangedData,
} as const satisfies Record<string, TSchema>;

export type EventType = keyof typeof EVENT_DATA_SCHEMAS;
export type EventData<T extends EventType> = Static<(typeof EVENT_DATA_SCHEMAS)[T]>;

export const EVENT_TYPES = Object.keys(EVENT_DATA_SCHEMAS) as EventType[];

/** Schema version written by producers of this build; consumers accept this one. */
export const CURRENT_SCHEMA_VERSION = 1;

/** AMQP routing keys: `<aggregate>.<what happened>`, so consumers bind by prefix. */
export const ROUTING_KEYS: Readonly<Record<EventType, string>> = Object.freeze({
  BalanceChanged: 'balance.changed',
  BetPlaced: 'game.bet_placed',
  WinCredited: 'game.win_credited',
  BetRolledBack: 'game.bet_rolled_back',
  GameRoundEnded: 'game.round_ended',
  DepositCompleted: 'payment.deposit_completed',
  WithdrawalRequested: 'payment.withdrawal_requested',
  WithdrawalCompleted: 'payment.withdrawal_completed',
  WithdrawalFailed: 'payment.withdrawal_failed',
  BonusCredited: 'bonus.credited',
  KycStatusChanged: 'player.kyc_status_changed',
  PlayerLimitChanged: 'player.limit_changed',
  PlayerExclusionStarted: 'player.exclusion_started',
  InterventionTriggered: 'intervention.triggered',
  ComplianceFlagChanged: 'compliance.flag_changed',
});

/** Envelope fields common to every event; `data` is typed per event type. */
export const EventEnvelopeBase = Type.Object({
  id: Type.String({ format: 'uuid' }),
  type: Type.String(),
  schemaVersion: Type.Integer({ minimum: 1 }),
  brand: Type.String({ minLength: 1, maxLength: 63 }),
  playerId: Type.String({ minLength: 1, maxLength: 128 }),
  occurredAt: Type.String({ format: 'date-time' }),
  committedAt: Type.String({ format: 'date-time' }),
  traceparent: Type.Optional(Type.String({ pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' })),
});

export type EventEnvelope<T extends EventType = EventType> = {
  [K in T]: Omit<Static<typeof EventEnvelopeBase>, 'type'> & { type: K; data: EventData<K> };
}[T];
