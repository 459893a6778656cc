import { setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Tenant } from './api/tenant.js';
import type { OperatorConfig } from './config.js';
import { InfrastructureRegistry } from './infra/registry.js';
import { KubeClient, type KubeObject } from './kube/client.js';
import { Informer } from './kube/informer.js';
import { LeaderElector } from './kube/leader.js';
import { collectionPath, RESOURCE_TYPES, type KindName } from './kube/resources.js';
import { WorkQueue } from './kube/workqueue.js';
import { createOperatorMetrics, type OperatorMetrics } from './metrics.js';
import { CONDITION_TYPES } from './reconcile/conditions.js';
import { MANAGED_BY, TENANT_LABEL } from './reconcile/desired.js';
import { EventRecorder } from './reconcile/events.js';
import { Reconciler, type Caches } from './reconcile/reconciler.js';
import { RULES_SOURCE_LABEL, tenantsUsingConfigMap } from './reconcile/rules-source.js';

/**
 * The operator process: informers on Tenants and on every kind it owns,
 * a work queue keyed by Tenant name, workers that run the reconciler, a
 * periodic resync, leader election, and the health and metrics endpoints.
 *
 * Every replica keeps its caches warm; only the leader reconciles.
 */

const OWNED_KINDS: KindName[] = [
  'Namespace',
  'Secret',
  'ConfigMap',
  'ServiceAccount',
  'Service',
  'Deployment',
  'PodDisruptionBudget',
  'HorizontalPodAutoscaler',
  'NetworkPolicy',
];

export interface OperatorOptions {
  config: OperatorConfig;
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Overrides the informers' server-side watch timeout, for tests. */
  watchTimeoutSeconds?: number;
}

export class Operator {
  readonly metrics: OperatorMetrics;
  readonly client: KubeClient;
  private readonly queue: WorkQueue;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly caches: Caches;
  private readonly rulesSources: Informer<KubeObject>;
  private readonly elector: LeaderElector;
  private readonly infrastructure: InfrastructureRegistry;
  private readonly reconciler: Reconciler;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private httpServer: Server | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private leadership: Promise<'stopped' | 'lost'> | undefined;
  private readonly lostLeadership = new AbortController();

  constructor(private readonly options: OperatorOptions) {
    const { config, logger } = options;
    // Every informer and watch listens on the stop signal.
    setMaxListeners(200, this.stopping.signal, this.lostLeadership.signal);
    this.metrics = createOperatorMetrics();
    this.client = new KubeClient(options.kubeConfig, this.metrics.kubeRequests);
    this.queue = new WorkQueue({ onDepthChange: (depth) => this.metrics.queueDepth.set(depth) });

    const informer = (kind: KindName, labelSelector?: string, name: string = RESOURCE_TYPES[kind].plural): Informer<KubeObject> => {
      const created = new Informer<KubeObject>(
        this.client,
        {
          name,
          collectionPath: collectionPath(kind),
          labelSelector,
          watchTimeoutSeconds: options.watchTimeoutSeconds,
          onWatchRestart: (reason) => this.metrics.watchRestarts.inc({ informer: name, reason }),
          onRelist: () => this.metrics.relists.inc({ informer: name }),
        },
        logger,
      );
      this.informers.push(created);
      return created;
    };
    const managed = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
    const caches = { Tenant: informer('Tenant') } as Caches;
    for (const kind of OWNED_KINDS) caches[kind] = informer(kind, managed);
    this.caches = caches;
    this.rulesSources = informer('ConfigMap', `${RULES_SOURCE_LABEL}=true`, 'rules-sources');

    this.infrastructure = new InfrastructureRegistry(config.profiles, this.client, config.OPERATOR_NAMESPACE, config.OPERATOR_INFRASTRUCTURE_TIMEOUT_MS, logger);
    this.reconciler = new Reconciler({
      client: this.client,
      caches,
      rulesSources: this.rulesSources,
      config,
      infrastructure: this.infrastructure,
      events: new EventRecorder(this.client, 'croupier-operator', config.OPERATOR_IDENTITY, logger),
      metrics: this.metrics,
      logger,
    });
    this.elector = new LeaderElector(
      this.client,
      {
        namespace: config.OPERATOR_NAMESPACE,
        leaseName: config.OPERATOR_LEASE_NAME,
        identity: config.OPERATOR_IDENTITY,
        leaseDurationSeconds: config.OPERATOR_LEASE_DURATION_SECONDS,
        renewIntervalMs: config.OPERATOR_LEASE_RENEW_SECONDS * 1000,
        retryIntervalMs: Math.max(1000, (config.OPERATOR_LEASE_DURATION_SECONDS * 1000) / 5),
      },
      logger,
    );
    this.wireEventHandlers();
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  get identity(): string {
    return this.options.config.OPERATOR_IDENTITY;
  }

  /** True once every informer has completed its first list. */
  get synced(): boolean {
    return this.informers.every((informer) => informer.hasSynced);
  }

  /** Resolves with 'lost' when leadership was lost; the process should then exit so it restarts clean. */
  get done(): Promise<'stopped' | 'lost'> {
    return this.leadership ?? Promise.resolve('stopped');
  }

  /** Starts the health server, the informers and the leader campaign. */
  async start(): Promise<void> {
    await this.startHttpServer();
    const signal = this.stopping.signal;
    this.running = Promise.all(this.informers.map((informer) => informer.run(signal)));
    this.leadership = this.elector.run(signal, () => {
      this.metrics.leader.set(1);
      void this.lead();
    });
    void this.leadership.then((outcome) => {
      this.metrics.leader.set(0);
      if (outcome === 'lost') {
        this.lostLeadership.abort();
        this.queue.shutDown();
      }
    });
  }

  get httpAddress(): string {
    const address = this.httpServer?.address() as AddressInfo | null;
    return address === null || address === undefined ? '' : `http://127.0.0.1:${address.port}`;
  }

  /** Enqueues every Tenant, as the periodic resync does. */
  resyncNow(): void {
    for (const tenant of this.caches.Tenant.list()) this.queue.add(tenant.metadata.name);
  }

  /**
   * Stops gracefully: no new work is taken, reconciles in flight finish (up
   * to the shutdown timeout), the lease is released so a follower takes over
   * at once, then watches and infrastructure connections close.
   */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.options.logger.info({ identity: this.identity }, 'operator stopping');
    this.queue.shutDown();
    if (this.resyncTimer !== undefined) clearInterval(this.resyncTimer);
    const timeout = new Promise((resolve) => setTimeout(resolve, this.options.config.OPERATOR_SHUTDOWN_TIMEOUT_MS).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
    this.stopping.abort();
    await this.leadership;
    await this.running;
    await this.infrastructure.close();
    await new Promise<void>((resolve) => (this.httpServer === undefined ? resolve() : this.httpServer.close(() => resolve())));
    this.client.close();
    this.options.logger.info({ identity: this.identity }, 'operator stopped');
  }

  private async lead(): Promise<void> {
    const { config, logger } = this.options;
    await Promise.all(this.informers.map((informer) => informer.waitForSync()));
    if (this.stopping.signal.aborted || this.lostLeadership.signal.aborted) return;
    logger.info({ identity: this.identity, tenants: this.caches.Tenant.list().length }, 'caches synced; reconciling');
    this.resyncNow();
    this.resyncTimer = setInterval(() => this.resyncNow(), config.OPERATOR_RESYNC_SECONDS * 1000);
    this.resyncTimer.unref();
    for (let worker = 0; worker < config.OPERATOR_WORKERS; worker += 1) void this.work();
  }

  private async work(): Promise<void> {
    for (;;) {
      const name = await this.queue.get();
      if (name === undefined) return;
      const run = this.reconcileOne(name);
      this.inFlight.add(run);
      await run;
      this.inFlight.delete(run);
      this.queue.done(name);
    }
  }

  private async reconcileOne(name: string): Promise<void> {
    const started = process.hrtime.bigint();
    let result = 'success';
    try {
      await this.reconciler.reconcile(name);
      this.queue.forget(name);
    } catch (error) {
      result = 'error';
      const retryInMs = this.queue.addRateLimited(name);
      this.options.logger.warn({ tenant: name, err: error, retryInMs, attempt: this.queue.failuresOf(name) }, 'reconcile failed');
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.reconciles.inc({ result });
      this.metrics.reconcileDuration.observe({ result }, seconds);
      this.updateTenantGauge();
    }
  }

  private updateTenantGauge(): void {
    const counts = { True: 0, False: 0, Unknown: 0 };
    for (const tenant of this.caches.Tenant.list() as unknown as Tenant[]) {
      const ready = tenant.status?.conditions?.find((condition) => condition.type === CONDITION_TYPES.ready)?.status ?? 'Unknown';
      counts[ready] += 1;
    }
    for (const [ready, count] of Object.entries(counts)) this.metrics.tenants.set({ ready }, count);
  }

  private wireEventHandlers(): void {
    this.caches.Tenant.onEvent((event, object, previous) => {
      if (event !== 'modified' || previous === undefined || specOrMetadataChanged(object, previous)) this.queue.add(object.metadata.name);
    });
    for (const kind of OWNED_KINDS) {
      this.caches[kind].onEvent((_event, object) => {
        const tenant = object.metadata.labels?.[TENANT_LABEL];
        if (tenant !== undefined) this.queue.add(tenant);
      });
    }
    this.rulesSources.onEvent((_event, object) => {
      const tenants = this.caches.Tenant.list() as unknown as Tenant[];
      for (const name of tenantsUsingConfigMap(tenants, object.metadata.namespace ?? '', object.metadata.name)) this.queue.add(name);
    });
  }

  private async startHttpServer(): Promise<void> {
    const { config } = this.options;
    this.httpServer = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/healthz') {
        const healthy = !this.stopping.signal.aborted && !this.lostLeadership.signal.aborted;
        response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: healthy ? 'ok' : 'stopping' }));
      } else if (path === '/readyz') {
        const ready = this.synced && !this.stopping.signal.aborted;
        response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: ready ? 'ready' : 'not ready', synced: this.synced, leader: this.isLeader }));
      } else if (path === '/metrics') {
        this.metrics.registry.metrics().then(
          (text) => {
            response.writeHead(200, { 'content-type': this.metrics.registry.contentType });
            response.end(text);
          },
          () => {
            response.writeHead(500);
            response.end();
          },
        );
      } else {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'OPERATOR_NOT_FOUND', path }));
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.httpServer!.once('error', reject);
      this.httpServer!.listen(config.OPERATOR_HTTP_PORT, config.OPERATOR_HTTP_HOST, () => resolve());
    });
  }
}

function specOrMetadataChanged(object: KubeObject, previous: KubeObject): boolean {
  const a = object.metadata;
  const b = previous.metadata;
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {}) ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? [])
  );
}
