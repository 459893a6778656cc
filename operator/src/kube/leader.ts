import type { Logger } from 'pino';
import { KubeApiError, type KubeClient, type KubeObject } from './client.js';
import { collectionPath } from './resources.js';
import { sleep } from '../util/sleep.js';

/**
 * Leader election on a coordination.k8s.io Lease, so that of several operator
 * replicas exactly one reconciles. The Lease update carries the
 * resourceVersion read just before, so two candidates racing for an expired
 * lease cannot both win: the API server rejects the second write with 409.
 *
 * Expiry is judged by the local clock from the moment this candidate last saw
 * the lease change, not from the timestamps in it, so clock skew between
 * nodes does not matter.
 */

export interface LeaderElectionOptions {
  namespace: string;
  leaseName: string;
  identity: string;
  leaseDurationSeconds: number;
  /** How often the leader renews; must be well below the lease duration. */
  renewIntervalMs: number;
  /** How often a follower checks whether the lease expired. */
  retryIntervalMs: number;
}

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export class LeaderElector {
  private leading = false;
  private lastObserved: { resourceVersion: string; at: number } | undefined;
  private lastRenewedAt = 0;
  /** The lease as this replica last wrote it; a renewal updates it without reading first. */
  private written: Lease | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly logger: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until leadership is won, then renews until `signal` aborts or a
   * renewal fails for longer than the lease duration. Resolves with 'stopped'
   * on abort (after releasing the lease) and 'lost' when leadership is lost.
   */
  async run(signal: AbortSignal, onStartedLeading: () => void): Promise<'stopped' | 'lost'> {
    while (!signal.aborted) {
      const acquired = await this.tryAcquireOrRenew().catch((error: unknown) => {
        this.logger.warn({ err: error, lease: this.options.leaseName }, 'lease acquire failed');
        return false;
      });
      if (acquired) break;
      await sleep(this.options.retryIntervalMs, signal);
    }
    if (signal.aborted) return 'stopped';
    this.leading = true;
    this.logger.info({ lease: this.options.leaseName, identity: this.options.identity }, 'leadership acquired');
    onStartedLeading();

    while (!signal.aborted) {
      await sleep(this.options.renewIntervalMs, signal);
      if (signal.aborted) break;
      const renewed = await this.tryAcquireOrRenew().catch((error: unknown) => {
        this.logger.warn({ err: error, lease: this.options.leaseName }, 'lease renewal failed');
        return false;
      });
      if (!renewed && Date.now() - this.lastRenewedAt > this.options.leaseDurationSeconds * 1000 * 0.8) {
        this.leading = false;
        this.logger.error({ lease: this.options.leaseName, identity: this.options.identity }, 'leadership lost');
        return 'lost';
      }
    }
    await this.release();
    return 'stopped';
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.options.namespace, name: this.options.leaseName };
    const now = new Date();
    if (this.leading && this.written !== undefined && (await this.renewWritten(ref, now))) return true;
    const lease = await this.client.get<Lease>(ref);
    if (lease === undefined) {
      this.written = await this.client.create(collectionPath('Lease', this.options.namespace), {
        ...ref,
        metadata: { name: this.options.leaseName, namespace: this.options.namespace },
        spec: this.ownSpec(now, now, 0),
      } as Lease);
      this.lastRenewedAt = Date.now();
      return true;
    }
    const resourceVersion = lease.metadata.resourceVersion ?? '';
    if (this.lastObserved?.resourceVersion !== resourceVersion) this.lastObserved = { resourceVersion, at: Date.now() };
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const heldByMe = holder === this.options.identity;
    const expired = holder === '' || Date.now() - this.lastObserved.at > (spec.leaseDurationSeconds ?? this.options.leaseDurationSeconds) * 1000;
    if (!heldByMe && !expired) return false;

    const acquireTime = heldByMe && spec.acquireTime !== undefined ? new Date(spec.acquireTime) : now;
    const transitions = (spec.leaseTransitions ?? 0) + (heldByMe ? 0 : 1);
    try {
      const updated = await this.client.replace<Lease>({ ...ref, metadata: lease.metadata, spec: this.ownSpec(acquireTime, now, transitions) });
      this.written = updated;
      this.lastObserved = { resourceVersion: updated.metadata.resourceVersion ?? '', at: Date.now() };
      this.lastRenewedAt = Date.now();
      if (!heldByMe) this.logger.info({ lease: this.options.leaseName, previousHolder: holder }, 'took over an expired lease');
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) return false;
      throw error;
    }
  }

  /**
   * Renews from the lease this replica wrote last, one request instead of a
   * read and a write. A 409 means someone else wrote it since, and the caller
   * falls back to reading it.
   */
  private async renewWritten(ref: { apiVersion: string; kind: string; namespace: string; name: string }, now: Date): Promise<boolean> {
    const written = this.written as Lease;
    const acquireTime = written.spec?.acquireTime === undefined ? now : new Date(written.spec.acquireTime);
    try {
      this.written = await this.client.replace<Lease>({ ...ref, metadata: written.metadata, spec: this.ownSpec(acquireTime, now, written.spec?.leaseTransitions ?? 0) });
      this.lastObserved = { resourceVersion: this.written.metadata.resourceVersion ?? '', at: Date.now() };
      this.lastRenewedAt = Date.now();
      return true;
    } catch (error) {
      this.written = undefined;
      if (error instanceof KubeApiError && error.status === 409) return false;
      throw error;
    }
  }

  /** Hands the lease over at once instead of letting followers wait for expiry. */
  private async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.options.namespace, name: this.options.leaseName };
    try {
      const lease = await this.client.get<Lease>(ref);
      if (lease?.spec?.holderIdentity !== this.options.identity) return;
      await this.client.replace<Lease>({
        ...ref,
        metadata: lease.metadata,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 },
      });
      this.logger.info({ lease: this.options.leaseName }, 'lease released');
    } catch (error) {
      this.logger.warn({ err: error, lease: this.options.leaseName }, 'lease release failed; followers take over when it expires');
    }
  }

  private ownSpec(acquireTime: Date, renewTime: Date, transitions: number): Lease['spec'] {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.options.leaseDurationSeconds,
      acquireTime: microTime(acquireTime),
      renewTime: microTime(renewTime),
      leaseTransitions: transitions,
    };
  }
}

/** Lease times are MicroTime: RFC 3339 with six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
