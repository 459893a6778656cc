import { backoffDelayMs, sleep } from '@croupier/shared';
import type { Logger } from 'pino';

export interface OutboxWorkerOptions {
  name: string;
  logger: Logger;
  /** False while the batch cannot succeed (the bus is down); a later wake() resumes. */
  isReady: () => boolean;
  /** Handles one batch; returns true when rows may remain. Throws to retry with backoff. */
  runBatch: () => Promise<boolean>;
  onFailure?: (error: unknown) => void;
}

/**
 * Runs an outbox's batches until the table is empty, whenever something
 * calls wake(): after a commit that wrote rows, at start, and after a bus
 * reconnect. It never polls on a timer. A failed batch is retried with
 * backoff until it succeeds, the worker is not ready, or stop() is called.
 */
export class OutboxWorker {
  private requested = false;
  private running: Promise<void> | undefined;
  private readonly stopController = new AbortController();

  constructor(private readonly options: OutboxWorkerOptions) {}

  wake(reason: string): void {
    this.options.logger.debug({ outbox: this.options.name, reason }, 'outbox run requested');
    this.requested = true;
    if (this.stopController.signal.aborted || this.running !== undefined) return;
    this.running = this.runUntilEmpty().finally(() => {
      this.running = undefined;
      // A wake that arrived while the loop was finishing its last await.
      if (this.requested && this.options.isReady() && !this.stopController.signal.aborted) this.wake('pending request');
    });
  }

  /** Resolves once no batch is running; use it in tests and before a stop. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  async stop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running !== undefined && Date.now() < deadline) {
      await Promise.race([this.running, sleep(deadline - Date.now())]);
    }
    this.stopController.abort();
    await this.idle();
  }

  private async runUntilEmpty(): Promise<void> {
    let failedAttempts = 0;
    while (this.requested && !this.stopController.signal.aborted) {
      if (!this.options.isReady()) return;
      this.requested = false;
      try {
        if (await this.options.runBatch()) this.requested = true;
        failedAttempts = 0;
      } catch (error) {
        this.requested = true;
        failedAttempts += 1;
        this.options.onFailure?.(error);
        const delayMs = backoffDelayMs(failedAttempts, { initialDelayMs: 200, maxDelayMs: 30_000 });
        this.options.logger.warn({ err: error, outbox: this.options.name, failedAttempts, delayMs }, 'outbox batch failed, retrying');
        await sleep(delayMs, this.stopController.signal);
      }
    }
  }
}
