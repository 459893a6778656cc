import { EventEmitter } from 'node:events';
import amqp, { type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { backoffDelayMs, DEFAULT_BACKOFF, sleep, type BackoffOptions } from '../backoff.js';

export interface BusConnectionOptions {
  /** AMQP URL including the brand's vhost, for example `amqp://user:pass@127.0.0.1:5672/brand-a`. */
  url: string;
  /** Shown in the RabbitMQ management UI, so operators can tell services apart. */
  connectionName: string;
  logger: Logger;
  backoff?: BackoffOptions;
  heartbeatSeconds?: number;
}

type SetupHook = (connection: ChannelModel) => Promise<void>;

/**
 * An AMQP connection that re-establishes itself with backoff and jitter after
 * any loss. Users register setup hooks that run on every (re)connect to
 * recreate their channels, topology and consumers.
 *
 * Events: `connected`, `disconnected` (with the error, if any).
 */
export class BusConnection extends EventEmitter {
  private connection: ChannelModel | undefined;
  private readonly setupHooks: SetupHook[] = [];
  private readonly stopController = new AbortController();
  private connectLoop: Promise<void> | undefined;
  private connectedOnce: Promise<void>;
  private resolveConnectedOnce!: () => void;

  constructor(private readonly options: BusConnectionOptions) {
    super();
    this.connectedOnce = new Promise((resolve) => {
      this.resolveConnectedOnce = resolve;
    });
  }

  get isConnected(): boolean {
    return this.connection !== undefined;
  }

  get current(): ChannelModel | undefined {
    return this.connection;
  }

  /** Adds a hook run after every successful connect, in registration order. */
  onSetup(hook: SetupHook): void {
    this.setupHooks.push(hook);
    if (this.connection !== undefined) {
      // runHook logs a failure and closes the connection, which starts a reconnect.
      this.runHook(this.connection, hook).catch(() => undefined);
    }
  }

  /** Starts connecting in the background and resolves once the first connection is up. */
  async start(): Promise<void> {
    this.connectLoop ??= this.connectWithRetry();
    await this.connectedOnce;
  }

  /** Resolves once connected, or when the connection is stopped. */
  async waitUntilConnected(signal?: AbortSignal): Promise<void> {
    if (this.connection !== undefined) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.off('connected', done);
        this.stopController.signal.removeEventListener('abort', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.once('connected', done);
      this.stopController.signal.addEventListener('abort', done, { once: true });
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Closes the current connection so that the retry loop reconnects and
   * reruns every setup hook. Channels that the broker closed or consumers it
   * cancelled come back this way, since amqplib does not reopen them.
   */
  recycle(reason: string): void {
    const connection = this.connection;
    if (connection === undefined || this.stopController.signal.aborted) return;
    this.options.logger.warn({ reason }, 'recycling the bus connection to restore its channels');
    connection.close().catch((error: unknown) => {
      this.options.logger.debug({ err: error }, 'bus connection was already closed');
    });
  }

  async close(): Promise<void> {
    this.stopController.abort();
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined) {
      await connection.close().catch((error: unknown) => {
        this.options.logger.debug({ err: error }, 'bus connection was already closed');
      });
    }
    await this.connectLoop;
  }

  private async connectWithRetry(): Promise<void> {
    const { logger } = this.options;
    let attempt = 0;

    while (!this.stopController.signal.aborted) {
      attempt += 1;
      try {
        // amqplib leaves Nagle's algorithm on, which delays small frames (a
        // publish, a confirm, an ack) until earlier data is acknowledged.
        const connection = await amqp.connect(withHeartbeat(this.options.url, this.options.heartbeatSeconds ?? 10), {
          noDelay: true,
          clientProperties: { connection_name: this.options.connectionName },
        });
        if (this.stopController.signal.aborted) {
          await connection.close();
          return;
        }
        this.attach(connection);
        logger.info({ attempt }, 'bus connected');
        attempt = 0;
        for (const hook of this.setupHooks) {
          await this.runHook(connection, hook);
        }
        this.emit('connected');
        this.resolveConnectedOnce();
        await this.waitForLoss(connection);
      } catch (error) {
        this.connection = undefined;
        const delayMs = backoffDelayMs(attempt, this.options.backoff ?? DEFAULT_BACKOFF);
        logger.warn({ err: error, attempt, delayMs }, 'bus connection failed, retrying');
        await sleep(delayMs, this.stopController.signal);
      }
    }
  }

  private attach(connection: ChannelModel): void {
    this.connection = connection;
    connection.on('error', (error: unknown) => {
      this.options.logger.warn({ err: error }, 'bus connection error');
    });
    connection.on('blocked', (reason: string) => {
      this.options.logger.warn({ reason }, 'broker blocked publishing on this connection');
    });
    connection.on('unblocked', () => {
      this.options.logger.info('broker unblocked publishing on this connection');
    });
  }

  private waitForLoss(connection: ChannelModel): Promise<void> {
    return new Promise((resolve) => {
      connection.once('close', (error?: unknown) => {
        if (this.connection === connection) this.connection = undefined;
        if (!this.stopController.signal.aborted) {
          this.options.logger.warn({ err: error }, 'bus connection lost, reconnecting');
        }
        this.emit('disconnected', error);
        resolve();
      });
    });
  }

  private async runHook(connection: ChannelModel, hook: SetupHook): Promise<void> {
    try {
      await hook(connection);
    } catch (error) {
      // A hook that cannot set up its channel leaves the service half-wired, so
      // drop the connection and let the retry loop start over.
      this.options.logger.error({ err: error }, 'bus setup failed, closing the connection to retry');
      await connection.close().catch(() => undefined);
      throw error;
    }
  }
}

/** amqplib takes the heartbeat interval from the URL query, so add one unless the URL sets it. */
function withHeartbeat(url: string, heartbeatSeconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeatSeconds));
  return parsed.toString();
}
