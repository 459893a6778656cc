import {
  PLAYER_NAMESPACE,
  type BalanceSnapshot,
  type BalanceUpdate,
  type HandshakeErrorCode,
  type InterventionPrompt,
  type PlayerClientToServerEvents,
  type PlayerServerToClientEvents,
  type ServerNotice,
} from '@croupier/shared/contracts';
import { io, type Socket } from 'socket.io-client';
import { BalanceState, type ApplyResult, type BalanceStats, type PlayerBalance } from './balance-state.js';
import { noticeDelayMs, retryDelayMs, type ReconnectDelayOptions } from './reconnect-delay.js';
import { TypedEmitter } from './typed-emitter.js';

export type Transport = 'websocket' | 'polling';

export interface PlayerClientOptions {
  /** Base URL of the push gateway, such as `https://push.brand.example`. The client adds the `/player` namespace. */
  url: string;
  /** Returns a valid player token. Called before every connection attempt, so it can refresh an expired one. */
  getToken: () => Promise<string>;
  /** Transports in the order tried. Default: WebSocket, then HTTP long-polling when WebSocket fails. */
  transports?: Transport[];
  /** socket.io path on the gateway. Default `/socket.io`. */
  path?: string;
  /** First reconnection delay. Default 500. */
  reconnectionDelayMs?: number;
  /** Largest reconnection delay. Default 10000. */
  reconnectionDelayMaxMs?: number;
  /** Jitter of reconnection delays, 0 to 1. Default 0.5. */
  randomizationFactor?: number;
  /** Connect in the constructor. Default true. When false, call `connect()`. */
  autoConnect?: boolean;
}

/**
 * - `connecting`: first attempt, or after `connect()`.
 * - `connected`: the socket is connected; the snapshot follows.
 * - `reconnecting`: the connection was lost or rejected and a retry is pending.
 * - `disconnected`: the server closed the connection without a notice; call `connect()` to try again.
 * - `rejected`: the token was refused for a reason a retry cannot fix; see `code`.
 * - `closed`: `close()` was called.
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'rejected' | 'closed';

export interface ConnectionStateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Handshake error code sent by the gateway, when it refused the connection. */
  code?: HandshakeErrorCode;
  /** socket.io disconnect reason, error message or notice code. */
  reason?: string;
  /** Delay of a retry that the client scheduled itself. */
  retryInMs?: number;
}

export interface BalanceChange {
  balance: PlayerBalance;
  source: 'snapshot' | 'update';
  /** When the wallet committed the change; only for updates. */
  committedAt?: string;
  eventId?: string;
}

export interface PlayerClientEvents {
  /** The held balance changed; never fires for a stale snapshot or update. */
  balance: (change: BalanceChange) => void;
  /** Every snapshot received, with whether it was applied. */
  snapshot: (snapshot: BalanceSnapshot, result: ApplyResult) => void;
  /** Every `balance:changed` push received, stale and duplicate ones included, with whether it was applied. */
  update: (update: BalanceUpdate, result: ApplyResult) => void;
  notice: (notice: ServerNotice) => void;
  /**
   * A responsible-gaming prompt to show the player. Fires once per
   * intervention: a copy the gateway sends again is dropped.
   */
  intervention: (prompt: InterventionPrompt) => void;
  connectionState: (change: ConnectionStateChange) => void;
  /** The token provider failed; the client retries with backoff. */
  error: (error: Error) => void;
}

export class PlayerClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PlayerClientError';
  }
}

type GatewaySocket = Socket<PlayerServerToClientEvents, PlayerClientToServerEvents>;

/** Intervention ids remembered to drop repeated prompts; older ones are forgotten first. */
const SEEN_INTERVENTIONS_MAX = 256;
type RetryDecision = 'now' | 'backoff' | 'reject';

const HANDSHAKE_ERROR_CODES: ReadonlySet<string> = new Set<HandshakeErrorCode>([
  'GATEWAY_ERR_TOKEN_MISSING',
  'GATEWAY_ERR_TOKEN_INVALID',
  'GATEWAY_ERR_TOKEN_EXPIRED',
  'GATEWAY_ERR_BRAND_MISMATCH',
  'GATEWAY_ERR_DRAINING',
  'GATEWAY_ERR_SNAPSHOT_UNAVAILABLE',
]);

/**
 * Player connection to the Croupier push gateway. It keeps the newest balance
 * by `balanceVersion` and reconnects by itself: socket.io-client retries lost
 * transports, and this class retries what socket.io-client leaves alone,
 * which is handshakes refused with a retryable code and disconnects the
 * server announced with a notice.
 *
 * @example
 * const client = new PlayerClient({ url: 'https://push.brand.example', getToken: fetchPlayerToken });
 * client.on('balance', ({ balance }) => render(balance.cashMinor, balance.currency));
 * // later
 * client.close();
 */
export class PlayerClient extends TypedEmitter<PlayerClientEvents> {
  private readonly socket: GatewaySocket;
  private readonly balanceState = new BalanceState();
  private readonly delays: ReconnectDelayOptions;
  private connectionState: ConnectionState = 'connecting';
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryAttempt = 0;
  private expiredTokenRejections = 0;
  private hasTokenProviderFailed = false;
  private hasSnapshotOnConnection = false;
  private pendingNotice: ServerNotice | undefined;
  private readonly seenInterventionIds = new Set<string>();

  constructor(private readonly options: PlayerClientOptions) {
    super();
    this.delays = {
      reconnectionDelayMs: options.reconnectionDelayMs ?? 500,
      reconnectionDelayMaxMs: options.reconnectionDelayMaxMs ?? 10_000,
      randomizationFactor: options.randomizationFactor ?? 0.5,
    };
    this.socket = this.createSocket();
    this.listen();
    if (options.autoConnect ?? true) this.socket.connect();
  }

  /** The newest balance received, or undefined before the first snapshot. */
  get balance(): PlayerBalance | undefined {
    return this.balanceState.current;
  }

  get stats(): BalanceStats {
    return this.balanceState.stats;
  }

  get state(): ConnectionState {
    return this.connectionState;
  }

  /** Transport in use, or undefined while not connected. */
  get transport(): Transport | undefined {
    if (!this.socket.connected) return undefined;
    return this.socket.io.engine?.transport?.name as Transport | undefined;
  }

  /** Starts connecting again after `disconnected` or `rejected`. */
  connect(): void {
    if (this.connectionState === 'closed') throw new PlayerClientError('CLIENT_CLOSED', 'the client is closed; create a new one');
    // Already connected or on the way: socket.io would not emit another connect, so the state would stick.
    if (this.socket.connected || this.socket.active) return;

    this.cancelRetry();
    this.retryAttempt = 0;
    this.expiredTokenRejections = 0;
    this.setState('connecting');
    this.socket.connect();
  }

  /** Requests a fresh snapshot, applies it if it is not stale and returns it. */
  async refresh(timeoutMs = 5000): Promise<BalanceSnapshot> {
    // socket.io-client would buffer the request until the next connect, so fail fast instead.
    if (!this.socket.connected) throw new PlayerClientError('CLIENT_NOT_CONNECTED', 'cannot refresh while disconnected');

    let result: { snapshot?: BalanceSnapshot; error?: string };
    try {
      result = await this.socket.timeout(timeoutMs).emitWithAck('balance:refresh');
    } catch {
      throw new PlayerClientError('CLIENT_REFRESH_TIMEOUT', `balance refresh got no acknowledgement within ${timeoutMs} ms`);
    }
    if (result.snapshot === undefined) {
      const code = result.error ?? 'GATEWAY_ERR_WALLET_UNAVAILABLE';
      throw new PlayerClientError(code, `balance refresh failed with ${code}`);
    }
    this.applySnapshot(result.snapshot);
    return result.snapshot;
  }

  /** Disconnects and stops every retry. The client cannot be reused. */
  close(): void {
    if (this.connectionState === 'closed') return;
    this.cancelRetry();
    this.setState('closed');
    this.socket.disconnect();
    this.socket.removeAllListeners();
    this.socket.io.removeAllListeners();
  }

  private createSocket(): GatewaySocket {
    const url = `${this.options.url.replace(/\/$/, '')}${PLAYER_NAMESPACE}`;
    return io(url, {
      forceNew: true,
      autoConnect: false,
      path: this.options.path ?? '/socket.io',
      transports: this.options.transports ?? ['websocket', 'polling'],
      // Without this, a client whose first transport fails keeps retrying
      // that transport only; with it, socket.io-client falls back to the next.
      tryAllTransports: true,
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: this.delays.reconnectionDelayMs,
      reconnectionDelayMax: this.delays.reconnectionDelayMaxMs,
      randomizationFactor: this.delays.randomizationFactor,
      auth: (callback) => this.provideAuth(callback),
    });
  }

  private listen(): void {
    this.socket.on('connect', () => {
      this.hasSnapshotOnConnection = false;
      this.pendingNotice = undefined;
      this.expiredTokenRejections = 0;
      this.setState('connected');
    });
    this.socket.on('balance:snapshot', (snapshot) => {
      this.hasSnapshotOnConnection = true;
      this.retryAttempt = 0;
      this.applySnapshot(snapshot);
    });
    this.socket.on('balance:changed', (update) => this.applyUpdate(update));
    this.socket.on('intervention:prompt', (prompt) => this.onInterventionPrompt(prompt));
    this.socket.on('server:notice', (notice) => {
      this.pendingNotice = notice;
      this.emit('notice', notice);
    });
    this.socket.on('disconnect', (reason) => this.onDisconnect(reason));
    this.socket.on('connect_error', (error) => this.onConnectError(error));
    this.socket.io.on('reconnect_attempt', () => this.setState('reconnecting'));
  }

  private provideAuth(callback: (data: object) => void): void {
    this.hasTokenProviderFailed = false;
    this.options.getToken().then(
      (token) => callback({ token }),
      (error: unknown) => {
        // The handshake goes out without a token and is refused with
        // GATEWAY_ERR_TOKEN_MISSING, which this client then retries with backoff.
        this.hasTokenProviderFailed = true;
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
        callback({});
      },
    );
  }

  private applySnapshot(snapshot: BalanceSnapshot): void {
    const result = this.balanceState.applySnapshot(snapshot);
    this.emit('snapshot', snapshot, result);
    const balance = this.balanceState.current;
    if (result === 'applied' && balance !== undefined) this.emit('balance', { balance, source: 'snapshot' });
  }

  private applyUpdate(update: BalanceUpdate): void {
    const result = this.balanceState.applyUpdate(update);
    this.emit('update', update, result);
    const balance = this.balanceState.current;
    if (result !== 'applied' || balance === undefined) return;
    this.emit('balance', { balance, source: 'update', committedAt: update.committedAt, eventId: update.eventId });
  }

  private onInterventionPrompt(prompt: InterventionPrompt): void {
    if (typeof prompt?.interventionId !== 'string' || typeof prompt.message !== 'string') return;
    if (this.seenInterventionIds.has(prompt.interventionId)) return;

    this.seenInterventionIds.add(prompt.interventionId);
    if (this.seenInterventionIds.size > SEEN_INTERVENTIONS_MAX) {
      const oldest = this.seenInterventionIds.values().next().value;
      if (oldest !== undefined) this.seenInterventionIds.delete(oldest);
    }
    this.emit('intervention', prompt);
  }

  private onDisconnect(reason: Socket.DisconnectReason): void {
    if (this.connectionState === 'closed') return;
    const notice = this.pendingNotice;
    this.pendingNotice = undefined;

    if (notice !== undefined) {
      // Follow the notice's delay even when the transport dropped before the
      // server's disconnect packet arrived, so socket.io-client's own
      // reconnection is stopped first.
      if (reason !== 'io server disconnect') this.socket.disconnect();
      this.scheduleConnect(noticeDelayMs(notice.reconnectAfterMs, this.delays.randomizationFactor), { reason: notice.code });
    } else if (reason !== 'io server disconnect') {
      this.setState('reconnecting', { reason });
    } else if (!this.hasSnapshotOnConnection) {
      // The gateway closes a connection whose snapshot it could not read.
      this.retryAttempt += 1;
      this.scheduleConnect(retryDelayMs(this.retryAttempt, this.delays), { reason: 'disconnected before a balance snapshot' });
    } else {
      this.setState('disconnected', { reason });
    }
  }

  private onConnectError(error: Error): void {
    if (this.connectionState === 'closed') return;
    const code = readHandshakeCode(error);
    if (code === undefined) {
      // A transport failure; socket.io-client reconnects with its own backoff.
      this.setState('reconnecting', { reason: error.message });
      return;
    }

    const decision = this.decideAfterRejection(code);
    if (decision === 'reject') {
      this.setState('rejected', { code, reason: error.message });
      return;
    }
    this.retryAttempt += 1;
    const delayMs = decision === 'now' ? 0 : retryDelayMs(this.retryAttempt, this.delays);
    this.scheduleConnect(delayMs, { code, reason: error.message });
  }

  private decideAfterRejection(code: HandshakeErrorCode): RetryDecision {
    switch (code) {
      case 'GATEWAY_ERR_TOKEN_EXPIRED':
        // The next attempt calls getToken again, so retry at once, but only the first time.
        this.expiredTokenRejections += 1;
        return this.expiredTokenRejections === 1 ? 'now' : 'backoff';
      case 'GATEWAY_ERR_DRAINING':
      case 'GATEWAY_ERR_SNAPSHOT_UNAVAILABLE':
        return 'backoff';
      case 'GATEWAY_ERR_TOKEN_MISSING':
        return this.hasTokenProviderFailed ? 'backoff' : 'reject';
      case 'GATEWAY_ERR_TOKEN_INVALID':
      case 'GATEWAY_ERR_BRAND_MISMATCH':
        return 'reject';
    }
  }

  private scheduleConnect(delayMs: number, details: Pick<ConnectionStateChange, 'code' | 'reason'>): void {
    this.cancelRetry();
    this.setState('reconnecting', { ...details, retryInMs: delayMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.connectionState !== 'closed') this.socket.connect();
    }, delayMs);
  }

  private cancelRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private setState(state: ConnectionState, details: Omit<ConnectionStateChange, 'state' | 'previous'> = {}): void {
    const previous = this.connectionState;
    if (state === previous && Object.keys(details).length === 0) return;
    this.connectionState = state;
    this.emit('connectionState', { state, previous, ...details });
  }
}

function readHandshakeCode(error: Error): HandshakeErrorCode | undefined {
  const data = (error as Error & { data?: unknown }).data;
  const code = typeof data === 'object' && data !== null ? (data as { code?: unknown }).code : undefined;
  return typeof code === 'string' && HANDSHAKE_ERROR_CODES.has(code) ? (code as HandshakeErrorCode) : undefined;
}
