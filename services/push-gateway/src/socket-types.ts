import type {
  BackofficeClientToServerEvents,
  BackofficeServerToClientEvents,
  HandshakeErrorCode,
  PlayerClientToServerEvents,
  PlayerServerToClientEvents,
} from '@croupier/shared/contracts';
import type { StaffRole } from '@croupier/shared';
import type { Namespace, Server, Socket } from 'socket.io';

/** No events travel between replicas except the adapter's own broadcasts. */
export type InterServerEvents = Record<string, never>;

export interface PlayerSocketData {
  playerId: string;
}

export type GatewayServer = Server<PlayerClientToServerEvents, PlayerServerToClientEvents, InterServerEvents, PlayerSocketData>;

export type PlayerNamespace = Namespace<
  PlayerClientToServerEvents,
  PlayerServerToClientEvents,
  InterServerEvents,
  PlayerSocketData
>;

export type PlayerSocket = Socket<PlayerClientToServerEvents, PlayerServerToClientEvents, InterServerEvents, PlayerSocketData>;

export interface BackofficeSocketData {
  staffId: string;
  username: string;
  role: StaffRole;
  /** The staff member's own token, sent on to the rules API so the rules service authorises and audits each call. */
  token: string;
  expiresAt: Date;
}

export type BackofficeNamespace = Namespace<
  BackofficeClientToServerEvents,
  BackofficeServerToClientEvents,
  InterServerEvents,
  BackofficeSocketData
>;

export type BackofficeSocket = Socket<
  BackofficeClientToServerEvents,
  BackofficeServerToClientEvents,
  InterServerEvents,
  BackofficeSocketData
>;

/** The error a namespace middleware passes to `next`; socket.io sends `data` to the client in `connect_error`. */
export class HandshakeError extends Error {
  readonly data: { code: HandshakeErrorCode };

  constructor(code: HandshakeErrorCode, message: string) {
    super(message);
    this.name = 'HandshakeError';
    this.data = { code };
  }
}
