import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '@croupier/shared';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram<'result'>;
  reconcileErrors: Counter<'part'>;
  queueDepth: Gauge;
  applies: Counter<'kind'>;
  kubeRequests: Counter<'verb' | 'resource' | 'code'>;
  watchRestarts: Counter<'informer' | 'reason'>;
  relists: Counter<'informer'>;
  leader: Gauge;
  tenants: Gauge<'ready'>;
}

export function createOperatorMetrics(): OperatorMetrics {
  const registry = createMetricsRegistry('operator');
  return {
    registry,
    reconciles: new Counter({
      name: 'croupier_operator_reconciles_total',
      help: 'Reconciles of a Tenant, by result (success or error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'croupier_operator_reconcile_duration_seconds',
      help: 'Time one reconcile of a Tenant took.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'croupier_operator_provisioning_errors_total',
      help: 'Failed provisioning steps, by part (messaging, cache or database).',
      labelNames: ['part'],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'croupier_operator_workqueue_depth', help: 'Tenants waiting in the work queue.', registers: [registry] }),
    applies: new Counter({
      name: 'croupier_operator_applies_total',
      help: 'Server-side applies sent because a live object lacked what is desired, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    kubeRequests: new Counter({
      name: 'croupier_operator_kube_requests_total',
      help: 'Requests to the Kubernetes API server, by verb, resource and HTTP status.',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    }),
    watchRestarts: new Counter({
      name: 'croupier_operator_watch_restarts_total',
      help: 'Watches reopened, by informer and reason (expired, error or gone).',
      labelNames: ['informer', 'reason'],
      registers: [registry],
    }),
    relists: new Counter({
      name: 'croupier_operator_relists_total',
      help: 'Full lists by informer: the first one and one after every 410 Gone.',
      labelNames: ['informer'],
      registers: [registry],
    }),
    leader: new Gauge({ name: 'croupier_operator_leader', help: '1 while this replica holds the leader lease.', registers: [registry] }),
    tenants: new Gauge({
      name: 'croupier_operator_tenants',
      help: 'Tenants known to the operator, by Ready condition status.',
      labelNames: ['ready'],
      registers: [registry],
    }),
  };
}

/** Sum of a counter's values whose labels match `filter`. */
export async function counterTotal(counter: Counter<string>, filter: (labels: Record<string, string | number>) => boolean = () => true): Promise<number> {
  const { values } = await counter.get();
  return values.filter((value) => filter(value.labels as Record<string, string | number>)).reduce((sum, value) => sum + value.value, 0);
}
