/** Types of socketio.js, for the Node tests that drive it; k6 scripts use the JavaScript file directly. */

/** The part of the browser WebSocket API that the client uses; `k6/websockets` and `ws` both provide it. */
export interface WebSocketLike {
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close' | 'error', listener: (event: unknown) => void): void;
  send(data: string): void;
  close(code?: number): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export declare const DisconnectReason: Readonly<{
  CLIENT: 'io client disconnect';
  SERVER: 'io server disconnect';
  PING_TIMEOUT: 'ping timeout';
  TRANSPORT_CLOSE: 'transport close';
  TRANSPORT_ERROR: 'transport error';
  PARSE_ERROR: 'parse error';
  CONNECT_ERROR: 'connect error';
}>;

export type DisconnectReasonValue = (typeof DisconnectReason)[keyof typeof DisconnectReason];

export interface DecodedPacket {
  type: number;
  namespace: string;
  ackId: number | undefined;
  data: unknown;
}

export interface EngineSession {
  sid: string;
  /** Milliseconds between server pings. */
  pingInterval: number;
  /** Milliseconds the server waits for a pong. */
  pingTimeout: number;
}

export type SocketIoClientOptions = {
  namespace?: string;
  auth?: unknown;
} & ({ socket: WebSocketLike } | { url: string; WebSocket: WebSocketConstructor });

export declare function socketIoUrl(baseUrl: string): string;
export declare function encodePacket(type: number, namespace: string, data?: unknown, ackId?: number): string;
export declare function decodePacket(text: string): DecodedPacket;

export declare class SocketIoClient {
  constructor(options: SocketIoClientOptions);
  readonly namespace: string;
  readonly socket: WebSocketLike;
  readonly engine: EngineSession | undefined;
  readonly id: string | undefined;
  readonly connected: boolean;
  readonly closed: boolean;
  readonly pingsReceived: number;
  readonly pongsSent: number;

  on(name: 'connect', handler: (data: { sid: string }) => void): this;
  on(name: 'connect_error', handler: (error: { message: string; data?: unknown }) => void): this;
  on(name: 'disconnect', handler: (reason: DisconnectReasonValue) => void): this;
  on(name: 'ping', handler: () => void): this;
  on(name: 'error', handler: (error: Error) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- server events carry any JSON values
  on(name: string, handler: (...args: any[]) => void): this;
  emit(name: string, ...args: unknown[]): void;
  close(): void;
}
