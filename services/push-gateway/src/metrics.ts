import { createMetricsRegistry, LATENCY_BUCKETS_SECONDS, type ConsumeOutcome } from '@croupier/shared';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  handshakeFailures: Counter<'code'>;
  pushesEmitted: Counter;
  commitToEmitLatency: Histogram;
  slowConsumerDisconnects: Counter;
  eventsConsumed: Counter<'outcome'>;
  eventsDeduplicated: Counter;
  snapshotFailures: Counter<'code'>;
  drainDisconnects: Counter;
  promptsEmitted: Counter;
  backofficePushesEmitted: Counter<'event'>;
  backofficeHandshakeFailures: Counter<'code'>;
  backofficeRequests: Counter<'request' | 'outcome'>;
}

/**
 * Creates the gateway's Prometheus metrics. `countConnectedSockets` (players)
 * and `countBackofficeSockets` (staff) are read at scrape time.
 */
export function createGatewayMetrics(
  brand: string,
  countConnectedSockets: () => number,
  countBackofficeSockets: () => number,
): GatewayMetrics {
  const registry = createMetricsRegistry('push-gateway', brand);

  new Gauge({
    name: 'push_gateway_connected_sockets',
    help: 'Player sockets connected to this replica',
    registers: [registry],
    collect() {
      this.set(countConnectedSockets());
    },
  });
  new Gauge({
    name: 'push_gateway_backoffice_sockets',
    help: 'Staff sockets connected to the /backoffice namespace of this replica',
    registers: [registry],
    collect() {
      this.set(countBackofficeSockets());
    },
  });

  return {
    registry,
    handshakeFailures: new Counter({
      name: 'push_gateway_handshake_failures_total',
      help: 'Rejected player handshakes, by handshake error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    pushesEmitted: new Counter({
      name: 'push_gateway_pushes_emitted_total',
      help: 'balance:changed pushes this replica emitted to a player room (across all replicas through the adapter)',
      registers: [registry],
    }),
    commitToEmitLatency: new Histogram({
      name: 'push_gateway_commit_to_emit_latency_seconds',
      help: 'Time from the wallet commit (committedAt) to the emit of the push, in seconds',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    slowConsumerDisconnects: new Counter({
      name: 'push_gateway_slow_consumer_disconnects_total',
      help: 'Connections closed because their outgoing buffer passed the configured limit',
      registers: [registry],
    }),
    eventsConsumed: new Counter({
      name: 'push_gateway_events_consumed_total',
      help: 'Bus deliveries handled, by outcome (processed, duplicate, dead_lettered, requeued)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    eventsDeduplicated: new Counter({
      name: 'push_gateway_events_deduplicated_total',
      help: 'Bus deliveries skipped because their event id was already pushed',
      registers: [registry],
    }),
    snapshotFailures: new Counter({
      name: 'push_gateway_snapshot_failures_total',
      help: 'Balance snapshots that could not be read from the wallet, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    drainDisconnects: new Counter({
      name: 'push_gateway_drain_disconnects_total',
      help: 'Connections closed with a GATEWAY_DRAINING notice',
      registers: [registry],
    }),
    promptsEmitted: new Counter({
      name: 'push_gateway_intervention_prompts_emitted_total',
      help: 'intervention:prompt pushes this replica emitted to a player room',
      registers: [registry],
    }),
    backofficePushesEmitted: new Counter({
      name: 'push_gateway_backoffice_pushes_emitted_total',
      help: 'Pushes this replica emitted to back office rooms, by socket event',
      labelNames: ['event'],
      registers: [registry],
    }),
    backofficeHandshakeFailures: new Counter({
      name: 'push_gateway_backoffice_handshake_failures_total',
      help: 'Rejected staff handshakes on /backoffice, by handshake error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    backofficeRequests: new Counter({
      name: 'push_gateway_backoffice_requests_total',
      help: 'Back office socket requests handled, by request event and outcome (ok or an error code)',
      labelNames: ['request', 'outcome'],
      registers: [registry],
    }),
  };
}

export function countConsumeOutcome(metrics: GatewayMetrics, outcome: ConsumeOutcome): void {
  metrics.eventsConsumed.inc({ outcome });
  if (outcome === 'duplicate') metrics.eventsDeduplicated.inc();
}
