import { createMetricsRegistry, LATENCY_BUCKETS_SECONDS, type ConsumeOutcome } from '@croupier/shared';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface RulesMetrics {
  registry: Registry;
  eventsConsumed: Counter<'outcome'>;
  evaluationDuration: Histogram;
  interventions: Counter<'rule_id' | 'rule_kind'>;
  eventToIntervention: Histogram;
  ruleLoads: Counter<'result'>;
  rulesLoaded: Gauge;
  ruleFileValid: Gauge;
  outboxPublished: Counter;
  outboxFailures: Counter<'outbox'>;
  emailsSent: Counter;
  httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/** Creates the rules service's Prometheus metrics; the README lists them. */
export function createRulesMetrics(brand: string): RulesMetrics {
  const registry = createMetricsRegistry('rules', brand);
  const registers = [registry];
  return {
    registry,
    eventsConsumed: new Counter({
      name: 'rules_events_consumed_total',
      help: 'Bus deliveries handled, by outcome (processed, duplicate, dead_lettered, requeued)',
      labelNames: ['outcome'],
      registers,
    }),
    evaluationDuration: new Histogram({
      name: 'rules_evaluation_duration_seconds',
      help: 'Time to plan an event and run its Redis script (count, de-duplicate, evaluate), in seconds',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    interventions: new Counter({
      name: 'rules_interventions_total',
      help: 'Interventions stored, by rule id and rule kind',
      labelNames: ['rule_id', 'rule_kind'],
      registers,
    }),
    eventToIntervention: new Histogram({
      name: 'rules_event_to_intervention_seconds',
      help: 'Time from the triggering event commit (committedAt) to the commit of its intervention, in seconds',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    ruleLoads: new Counter({
      name: 'rules_file_loads_total',
      help: 'Rule file load attempts, by result (loaded, unchanged, failed)',
      labelNames: ['result'],
      registers,
    }),
    rulesLoaded: new Gauge({ name: 'rules_loaded', help: 'Enabled rules in the rule set in force', registers }),
    ruleFileValid: new Gauge({
      name: 'rules_file_valid',
      help: '1 when the last load of the rule file succeeded, 0 when it failed and older rules (or none) are in force',
      registers,
    }),
    outboxPublished: new Counter({ name: 'rules_outbox_events_published_total', help: 'Outbox events confirmed by the broker', registers }),
    outboxFailures: new Counter({
      name: 'rules_outbox_failures_total',
      help: 'Failed outbox batches (events) or sends (emails), each retried',
      labelNames: ['outbox'],
      registers,
    }),
    emailsSent: new Counter({ name: 'rules_emails_sent_total', help: 'Compliance emails accepted by the SMTP server', registers }),
    httpRequestDuration: new Histogram({
      name: 'rules_http_request_duration_seconds',
      help: 'Back office API request duration, in seconds',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
  };
}

export function countConsumeOutcome(metrics: RulesMetrics, outcome: ConsumeOutcome): void {
  metrics.eventsConsumed.inc({ outcome });
}
