import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry, LATENCY_BUCKETS_SECONDS } from '@croupier/shared';

export interface WalletMetrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  outboxBacklog: Gauge;
  relayPublishDuration: Histogram;
  commitToPublishDuration: Histogram;
  relayFailures: Counter;
  relayHandOffsDropped: Counter;
}

/**
 * Creates the wallet metrics. `countUnsentEvents` is called on every scrape
 * for the outbox backlog gauge, so the gauge is exact at scrape time.
 */
export function createWalletMetrics(brand: string, countUnsentEvents: () => Promise<number | undefined>): WalletMetrics {
  const registry = createMetricsRegistry('wallet', brand);
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'wallet_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: 'wallet_outbox_backlog_events',
      help: 'Outbox events committed but not yet marked sent, which happens right after the broker confirms them',
      registers: [registry],
      async collect() {
        // undefined means the count failed; keep the last value rather than failing the whole scrape.
        const count = await countUnsentEvents();
        if (count !== undefined) this.set(count);
      },
    }),
    relayPublishDuration: new Histogram({
      name: 'wallet_outbox_publish_duration_seconds',
      help: 'Time from publishing an outbox batch to the broker confirming all of it',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    commitToPublishDuration: new Histogram({
      name: 'wallet_outbox_commit_to_publish_seconds',
      help: 'Time from the commit of an event (insert time for rows this process did not commit) to the broker confirm',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    relayFailures: new Counter({
      name: 'wallet_outbox_relay_failures_total',
      help: 'Outbox batches that failed to publish or to be marked sent and will be retried',
      registers: [registry],
    }),
    relayHandOffsDropped: new Counter({
      name: 'wallet_outbox_hand_offs_dropped_total',
      help: 'Commit hand-offs dropped because the in-memory bound was reached; their rows are published by a full drain',
      registers: [registry],
    }),
  };
}
