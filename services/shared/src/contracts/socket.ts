/**
 * socket.io event maps shared by the push gateway and the player client, so a
 * renamed event or field fails to compile on both sides.
 */

import type { FlagStatus, InterventionAction, Severity } from './events.js';

/** Full state pushed on every connect and reconnect; it replaces whatever the client had. */
export interface BalanceSnapshot {
  playerId: string;
  currency: string;
  cashMinor: number;
  bonusMinor: number;
  balanceVersion: number;
  /** Server time the snapshot was read, ISO 8601. */
  takenAt: string;
}

/** One committed balance change, forwarded from a BalanceChanged event. */
export interface BalanceUpdate {
  eventId: string;
  playerId: string;
  currency: string;
  cashMinor: number;
  bonusMinor: number;
  balanceVersion: number;
  reason: string;
  /** When the wallet transaction committed, ISO 8601; clients subtract it for latency. */
  committedAt: string;
}

/** Sent before the gateway closes a connection on purpose. */
export interface ServerNotice {
  code: 'GATEWAY_DRAINING' | 'GATEWAY_SLOW_CONSUMER' | 'GATEWAY_SNAPSHOT_UNAVAILABLE';
  message: string;
  /** Suggested delay before reconnecting, with jitter applied by the client. */
  reconnectAfterMs: number;
}

export interface PlayerServerToClientEvents {
  'balance:snapshot': (snapshot: BalanceSnapshot) => void;
  'balance:changed': (update: BalanceUpdate) => void;
  'server:notice': (notice: ServerNotice) => void;
  'intervention:prompt': (prompt: InterventionPrompt) => void;
}

export interface PlayerClientToServerEvents {
  /** Requests a fresh snapshot; the acknowledgement carries it or an error code. */
  'balance:refresh': (ack: (result: { snapshot?: BalanceSnapshot; error?: string }) => void) => void;
}

/** Handshake payload of the `/player` namespace (`auth` in socket.io-client). */
export interface PlayerHandshakeAuth {
  token: string;
}

/** Error codes in `connect_error` data, so a client can tell "refresh the token" from "give up". */
export type HandshakeErrorCode =
  | 'GATEWAY_ERR_TOKEN_MISSING'
  | 'GATEWAY_ERR_TOKEN_INVALID'
  | 'GATEWAY_ERR_TOKEN_EXPIRED'
  | 'GATEWAY_ERR_BRAND_MISMATCH'
  | 'GATEWAY_ERR_DRAINING'
  | 'GATEWAY_ERR_SNAPSHOT_UNAVAILABLE';

export interface HandshakeErrorData {
  code: HandshakeErrorCode;
}

export const PLAYER_NAMESPACE = '/player';

/** Room of one player inside the `/player` namespace. */
export function playerRoom(playerId: string): string {
  return `player:${playerId}`;
}

/**
 * A responsible-gaming message for the player, pushed as `intervention:prompt`
 * when an InterventionTriggered event's `actions` contain `prompt`.
 */
export interface InterventionPrompt {
  /** Id of the InterventionTriggered event; a redelivered copy carries the same id. */
  eventId: string;
  interventionId: string;
  playerId: string;
  ruleId: string;
  severity: Severity;
  /** Text to show the player, at most 1000 characters. */
  message: string;
  /** When the rules service committed the intervention, ISO 8601. */
  triggeredAt: string;
  /** When the wallet committed the event that fired the rule, ISO 8601; clients subtract it for event-to-prompt latency. */
  triggeringCommittedAt: string;
}

// ---------------------------------------------------------------------------
// Back office (`/backoffice`): licensee staff watching players and the
// compliance queue. Staff authenticate with a staff token issued by the rules
// service (`auth.token` in the handshake).
// ---------------------------------------------------------------------------

export const BACKOFFICE_NAMESPACE = '/backoffice';

/** Room of the staff sockets watching one player, inside `/backoffice`. */
export function watchedPlayerRoom(playerId: string): string {
  return `watch:${playerId}`;
}

/** Room of the compliance officers' live queue, inside `/backoffice`. */
export const COMPLIANCE_QUEUE_ROOM = 'compliance-queue';

/** Staff roles; the same values as `STAFF_ROLES` of the staff token. */
export type BackofficeRole = 'agent' | 'compliance_officer';

/** Handshake payload of `/backoffice`. */
export interface BackofficeHandshakeAuth {
  token: string;
}

/** `connect_error` codes of `/backoffice`: the player namespace's codes that apply to staff. */
export type BackofficeHandshakeErrorCode = Exclude<HandshakeErrorCode, 'GATEWAY_ERR_SNAPSHOT_UNAVAILABLE'>;

/** Sent once after every connect: who the gateway authenticated and what the role may do. */
export interface StaffSession {
  staffId: string;
  username: string;
  role: BackofficeRole;
  brand: string;
  /** Token expiry, ISO 8601; the gateway disconnects the socket then. */
  expiresAt: string;
  /** True for compliance officers, who receive the compliance queue. */
  canWatchQueue: boolean;
}

export type BackofficeErrorCode =
  | 'BACKOFFICE_ERR_INVALID_REQUEST'
  | 'BACKOFFICE_ERR_FORBIDDEN'
  | 'BACKOFFICE_ERR_SESSION_EXPIRED'
  | 'BACKOFFICE_ERR_PLAYER_NOT_FOUND'
  | 'BACKOFFICE_ERR_FLAG_NOT_FOUND'
  | 'BACKOFFICE_ERR_CONFLICT'
  | 'BACKOFFICE_ERR_WATCH_LIMIT'
  | 'BACKOFFICE_ERR_WALLET_UNAVAILABLE'
  | 'BACKOFFICE_ERR_RULES_UNAVAILABLE'
  | 'BACKOFFICE_ERR_CLOSING'
  | 'BACKOFFICE_ERR_INTERNAL';

export interface BackofficeError {
  code: BackofficeErrorCode;
  message: string;
}

/** Acknowledgement of every `/backoffice` request. */
export type BackofficeResult<T> = { ok: true; value: T } | { ok: false; error: BackofficeError };

export type TransactionKind =
  | 'bet'
  | 'win'
  | 'rollback'
  | 'deposit'
  | 'withdrawal_requested'
  | 'withdrawal_completed'
  | 'withdrawal_failed'
  | 'bonus';

/** One money movement of a player, from the wallet's transaction list or from a bus event. */
export interface PlayerTransaction {
  playerId: string;
  kind: TransactionKind;
  /**
   * External reference that identifies the movement within its kind: the
   * provider's transaction id for game operations, the payment reference for
   * payments and the bonus reference for bonus credits. Clients deduplicate
   * the list and the pushes by `kind` and `reference`.
   */
  reference: string;
  currency: string;
  amountMinor: number;
  /** Game provider, for bets, wins and rollbacks. */
  provider: string | null;
  gameId: string | null;
  roundId: string | null;
  /** When the wallet committed the movement, ISO 8601. */
  committedAt: string;
}

/** A fired behaviour rule, from the rules API or an InterventionTriggered event. */
export interface InterventionView {
  interventionId: string;
  playerId: string;
  ruleId: string;
  ruleKind: string;
  severity: Severity;
  actions: InterventionAction[];
  message: string;
  /** Compliance flag the intervention raised, or null. */
  flagId: string | null;
  /** Aggregate values that crossed the thresholds, such as `sumMinor`. */
  values: Record<string, number>;
  thresholds: Record<string, number>;
  /** When the intervention was committed, ISO 8601. */
  triggeredAt: string;
}

/** A compliance flag as staff consoles show it. */
export interface ComplianceFlagView {
  flagId: string;
  playerId: string;
  interventionId: string;
  ruleId: string;
  severity: Severity;
  status: FlagStatus;
  /** Resolution note, or null while unresolved. */
  note: string | null;
  /** Actor of the last status change, or null while no one has changed the flag. */
  changedBy: string | null;
  /** Time of the last status change, ISO 8601; clients keep the newest version of a flag by it. */
  updatedAt: string;
}

/** A pushed flag status change, from a ComplianceFlagChanged event. */
export interface FlagChange extends ComplianceFlagView {
  eventId: string;
  previousStatus: FlagStatus | null;
}

/** Fresh state returned when a staff member starts watching a player. */
export interface PlayerLiveState {
  playerId: string;
  balance: BalanceSnapshot;
  /** Newest first. */
  transactions: PlayerTransaction[];
  /** Newest first. */
  interventions: InterventionView[];
  flags: ComplianceFlagView[];
}

/** Open and in-review flags of the brand, oldest first. */
export interface ComplianceQueue {
  flags: ComplianceFlagView[];
  /** When the gateway read the queue from the rules service, ISO 8601. */
  takenAt: string;
}

/** Sent before the gateway closes a back office connection on purpose. */
export interface BackofficeNotice {
  code: 'GATEWAY_DRAINING' | 'GATEWAY_SLOW_CONSUMER' | 'GATEWAY_SESSION_EXPIRED';
  message: string;
  /** Suggested delay before reconnecting; for GATEWAY_SESSION_EXPIRED, sign in again first. */
  reconnectAfterMs: number;
}

export interface BackofficeServerToClientEvents {
  'session:ready': (session: StaffSession) => void;
  /** Compliance officers only, after every connect; replaces the held queue. */
  'queue:snapshot': (queue: ComplianceQueue) => void;
  /** Compliance officers only: the queue could not be read on connect. */
  'queue:unavailable': (error: BackofficeError) => void;
  /** Balance change of a watched player. */
  'player:balance': (update: BalanceUpdate) => void;
  /** Transaction of a watched player. */
  'player:transaction': (transaction: PlayerTransaction) => void;
  /** Intervention of a watched player. */
  'player:intervention': (intervention: InterventionView) => void;
  /** Flag change, to the flagged player's watchers and the compliance queue. */
  'flag:changed': (change: FlagChange) => void;
  'server:notice': (notice: BackofficeNotice) => void;
}

export interface BackofficeClientToServerEvents {
  /** Joins the player's room; the acknowledgement carries the fresh state. */
  'player:watch': (request: { playerId: string }, ack: (result: BackofficeResult<PlayerLiveState>) => void) => void;
  'player:unwatch': (request: { playerId: string }, ack: (result: BackofficeResult<{ playerId: string }>) => void) => void;
  /** Compliance officers only: reads the queue again and returns it. */
  'queue:refresh': (ack: (result: BackofficeResult<ComplianceQueue>) => void) => void;
  /** Moves a flag to `in_review` through the rules API, as the signed-in staff member. */
  'flag:review': (request: { flagId: string }, ack: (result: BackofficeResult<ComplianceFlagView>) => void) => void;
  /** Resolves a flag with a note through the rules API; the rules service allows compliance officers only. */
  'flag:resolve': (
    request: { flagId: string; note: string },
    ack: (result: BackofficeResult<ComplianceFlagView>) => void,
  ) => void;
}
