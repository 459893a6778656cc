/**
 * A work queue keyed by object name, with the semantics operators rely on:
 * - a key waiting in the queue is held once, however often it is added;
 * - a key being processed is never handed to a second worker. If it is
 *   added meanwhile, it is queued again when the first worker is done;
 * - failures are retried with per-key exponential backoff, and all retries
 *   together pass through a token bucket so an outage cannot turn into a
 *   storm of requests.
 */

export interface WorkQueueOptions {
  /** Delay of the first retry of a key; doubles on every further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Sustained retries per second across all keys. */
  retriesPerSecond: number;
  /** Retries that may pass at once before the rate applies. */
  retryBurst: number;
  onDepthChange?: (depth: number) => void;
}

const DEFAULT_OPTIONS: WorkQueueOptions = { baseDelayMs: 250, maxDelayMs: 300_000, retriesPerSecond: 10, retryBurst: 100 };

export class WorkQueue {
  private readonly options: WorkQueueOptions;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private tokens: number;
  private tokensUpdatedAt = Date.now();
  private shuttingDown = false;

  constructor(options: Partial<WorkQueueOptions> = {}) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.tokens = this.options.retryBurst;
  }

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.options.onDepthChange?.(this.queue.length);
  }

  /** Adds the key after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined && pending.at <= at) return;
    if (pending !== undefined) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Schedules a retry after a failure; returns the delay chosen. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const backoff = Math.min(this.options.baseDelayMs * 2 ** failures, this.options.maxDelayMs);
    const delay = Math.max(backoff, this.takeToken());
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure history of a key after it succeeded. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key; undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.options.onDepthChange?.(this.queue.length);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key as processed; queues it again if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (!this.dirty.has(key) || this.shuttingDown) return;
    this.dirty.delete(key);
    this.add(key);
  }

  /** Stops handing out keys; workers waiting in `get` receive undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    this.options.onDepthChange?.(0);
  }

  /** Milliseconds until the token bucket allows one more retry (0 when a token is free). */
  private takeToken(): number {
    const now = Date.now();
    const refill = ((now - this.tokensUpdatedAt) / 1000) * this.options.retriesPerSecond;
    this.tokens = Math.min(this.options.retryBurst, this.tokens + refill);
    this.tokensUpdatedAt = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens / this.options.retriesPerSecond) * 1000);
  }
}
