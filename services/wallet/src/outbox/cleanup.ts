import type pg from 'pg';
import type { Logger } from 'pino';

export interface OutboxCleanupOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Sent rows older than this are deleted. */
  retentionSeconds: number;
  intervalMs?: number;
  /** Rows deleted per statement, and statements per run: bounds the work of one run. */
  batchSize?: number;
  maxBatchesPerRun?: number;
}

const DELETE_SENT_SQL = `
  DELETE FROM outbox WHERE outbox_id IN (
    SELECT outbox_id FROM outbox
    WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $1)
    ORDER BY outbox_id
    LIMIT $2)`;

/**
 * Deletes sent outbox rows after the retention period, on a timer with
 * jitter. The timer only removes rows with sent_at set, and the relay does not use it.
 */
export class OutboxCleanup {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: OutboxCleanupOptions) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes expired sent rows, at most batchSize × maxBatchesPerRun of them; returns how many. */
  async runOnce(): Promise<number> {
    const batchSize = this.options.batchSize ?? 5000;
    const maxBatches = this.options.maxBatchesPerRun ?? 20;
    let deleted = 0;
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const result = await this.options.pool.query(DELETE_SENT_SQL, [this.options.retentionSeconds, batchSize]);
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < batchSize) return deleted;
    }
    this.options.logger.warn({ deleted }, 'outbox cleanup hit its per-run bound; the next run continues');
    return deleted;
  }

  private schedule(): void {
    const intervalMs = this.options.intervalMs ?? 60_000;
    const delayMs = intervalMs / 2 + Math.random() * intervalMs;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then((deleted) => {
          if (deleted > 0) this.options.logger.debug({ deleted }, 'deleted sent outbox rows');
        })
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'outbox cleanup failed; retrying next run'))
        .finally(() => {
          this.running = undefined;
          if (this.timer !== undefined) this.schedule();
        });
    }, delayMs);
    this.timer.unref();
  }
}
