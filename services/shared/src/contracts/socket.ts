/**
 * socket.io event maps shared by the push gateway and the player client, so a
 * renamed event or field fails to compile on both sides.
 */

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
