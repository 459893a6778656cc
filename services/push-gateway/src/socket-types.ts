import type {
  HandshakeErrorCode,
  PlayerClientToServerEvents,
  PlayerServerToClientEvents,
} from '@croupier/shared/contracts';
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

/** The error a namespace middleware passes to `next`; socket.io sends `data` to the client in `connect_error`. */
export class HandshakeError extends Error {
  readonly data: { code: HandshakeErrorCode };

  constructor(code: HandshakeErrorCode, message: string) {
    super(message);
    this.name = 'HandshakeError';
    this.data = { code };
  }
}
