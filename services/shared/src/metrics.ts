import { collectDefaultMetrics, Registry } from 'prom-client';

/** Creates a registry with the process metrics and default labels of one service. */
export function createMetricsRegistry(service: string, brand?: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(brand === undefined ? { service } : { service, brand });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Histogram buckets in seconds for sub-millisecond to second latencies. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
