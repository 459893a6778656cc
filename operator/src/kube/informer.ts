import type { Logger } from 'pino';
import { KubeApiError, type KubeClient, type KubeObject, type WatchEvent } from './client.js';
import { objectKey } from './resources.js';
import { sleep } from '../util/sleep.js';

/**
 * A list-and-watch cache of one resource type, in the manner of client-go's
 * reflector and informer:
 * - lists in pages, then watches from the list's resourceVersion with
 *   bookmarks, so a restarted watch resumes where the last one stopped;
 * - a watch the server ends (its timeout) is reopened at once;
 * - a watch that fails is reopened after a jittered exponential backoff;
 * - `410 Gone` (the resourceVersion was compacted away) triggers a fresh list,
 *   and the cache is reconciled against it, so deletions missed while
 *   disconnected are still reported.
 */

/** Shortest time between two watches of one informer when the server ends them early. */
const MIN_WATCH_MS = 1000;

export type InformerEvent = 'added' | 'modified' | 'deleted';

export interface InformerOptions {
  /** Name for logs and metrics, such as `deployments`. */
  name: string;
  /** Collection path across all namespaces, such as `/apis/apps/v1/deployments`. */
  collectionPath: string;
  labelSelector?: string;
  /** Server-side watch timeout; the server closes the watch after it and the informer reopens it. */
  watchTimeoutSeconds?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  onWatchRestart?: (reason: 'expired' | 'error' | 'gone') => void;
  onRelist?: () => void;
}

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: Array<(event: InformerEvent, object: T, previous?: T) => void> = [];
  private readonly syncWaiters: Array<() => void> = [];
  private synced = false;
  private resourceVersion = '';
  private failures = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly options: InformerOptions,
    private readonly logger: Logger,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  onEvent(handler: (event: InformerEvent, object: T, previous?: T) => void): void {
    this.handlers.push(handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(objectKey(namespace, name));
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Resolves once the first list has filled the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Runs until `signal` aborts. Never rejects: every failure is retried. */
  async run(signal: AbortSignal): Promise<void> {
    let needsList = true;
    while (!signal.aborted) {
      try {
        if (needsList) {
          await this.relist();
          needsList = false;
        }
        const openedAt = Date.now();
        await this.watchOnce(signal);
        this.failures = 0;
        this.options.onWatchRestart?.('expired');
        // A server that ends watches at once would otherwise be asked again in a tight loop.
        if (Date.now() - openedAt < MIN_WATCH_MS) await sleep(MIN_WATCH_MS, signal);
      } catch (error) {
        if (signal.aborted) break;
        if (isGone(error)) {
          this.logger.info({ informer: this.options.name, resourceVersion: this.resourceVersion }, 'watch expired (410 Gone); listing again');
          this.options.onWatchRestart?.('gone');
          needsList = true;
          continue;
        }
        this.failures += 1;
        this.options.onWatchRestart?.('error');
        const delay = this.backoffDelay();
        this.logger.warn({ informer: this.options.name, err: error, attempt: this.failures, retryInMs: delay }, 'list or watch failed; retrying');
        await sleep(delay, signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.client.list<T>(this.options.collectionPath, {
        labelSelector: this.options.labelSelector,
        limit: 500,
        continue: continueToken,
      });
      for (const item of page.items) fresh.set(objectKey(item.metadata.namespace, item.metadata.name), item);
      continueToken = page.metadata.continue === '' ? undefined : page.metadata.continue;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken !== undefined);

    this.options.onRelist?.();
    const known = new Map(this.cache);
    this.cache.clear();
    for (const [key, object] of fresh) {
      this.cache.set(key, object);
      const previous = known.get(key);
      known.delete(key);
      if (previous === undefined) this.emit('added', object);
      else if (previous.metadata.resourceVersion !== object.metadata.resourceVersion) this.emit('modified', object, previous);
    }
    for (const gone of known.values()) this.emit('deleted', gone);
    this.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const waiter of this.syncWaiters.splice(0)) waiter();
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const timeoutSeconds = this.options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    await this.client.watch<T>(
      this.options.collectionPath,
      {
        labelSelector: this.options.labelSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      (event) => this.apply(event),
      signal,
    );
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number; reason?: string; message?: string };
      throw new KubeApiError('WATCH', this.options.collectionPath, status.code ?? 0, status.reason ?? 'Unknown', status.message ?? '');
    }
    const object = event.object;
    if (object.metadata.resourceVersion !== undefined) this.resourceVersion = object.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') return;
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const previous = this.cache.get(key);
    if (event.type === 'DELETED') {
      this.cache.delete(key);
      this.emit('deleted', object);
      return;
    }
    this.cache.set(key, object);
    this.emit(previous === undefined ? 'added' : 'modified', object, previous);
  }

  private emit(event: InformerEvent, object: T, previous?: T): void {
    for (const handler of this.handlers) {
      try {
        handler(event, object, previous);
      } catch (error) {
        this.logger.error({ informer: this.options.name, err: error }, 'informer event handler failed');
      }
    }
  }

  private backoffDelay(): number {
    const base = this.options.backoffBaseMs ?? 200;
    const max = this.options.backoffMaxMs ?? 30_000;
    const ceiling = Math.min(max, base * 2 ** (this.failures - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}

function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && (error.status === 410 || error.reason === 'Expired' || error.reason === 'Gone');
}
