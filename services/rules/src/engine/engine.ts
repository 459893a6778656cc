import type pg from 'pg';
import type { Logger } from 'pino';
import type { EventEnvelope } from '@croupier/shared/contracts';
import type { RulesWatcher } from '../rules/watcher.js';
import type { RulesMetrics } from '../metrics.js';
import type { AggregateStore } from './aggregates.js';
import { recordInterventions, type FiredRule, type RecordedIntervention } from './interventions.js';
import { planEvent } from './plan.js';

export class RulesNotLoadedError extends Error {
  readonly code = 'RULES_ERR_RULES_NOT_LOADED';
  constructor() {
    super('no valid rule file has been loaded yet; fix RULES_FILE and the service loads it without a restart');
    this.name = 'RulesNotLoadedError';
  }
}

export interface RulesEngineOptions {
  brand: string;
  pool: pg.Pool;
  store: AggregateStore;
  watcher: RulesWatcher;
  metrics: RulesMetrics;
  complianceEmail: string;
  maxLatenessMs: number;
  markerTtlMs: number;
  /** Called after a commit that stored interventions, to wake the outbox relays. */
  onRecorded: (recorded: RecordedIntervention[]) => void;
}

/**
 * Evaluates the brand's rules on each consumed event: one Redis script call
 * counts the event and decides which rules fire, then one PostgreSQL
 * transaction stores the interventions. A delivery that finds the event
 * counted but not yet marked done commits the same firings again; their ids
 * derive from event and rule, so nothing is stored twice.
 */
export class RulesEngine {
  constructor(private readonly options: RulesEngineOptions) {}

  async handle(event: EventEnvelope, logger: Logger): Promise<void> {
    const { watcher, store, metrics } = this.options;
    const rules = watcher.rules;
    if (rules === undefined) throw new RulesNotLoadedError();

    const started = performance.now();
    const plan = planEvent(event, rules, {
      brand: this.options.brand,
      maxLatenessMs: this.options.maxLatenessMs,
      markerTtlMs: this.options.markerTtlMs,
    });
    if (plan.plan.series.length === 0 && plan.plan.checks.length === 0) return;

    const result = await store.apply(plan);
    metrics.evaluationDuration.observe((performance.now() - started) / 1000);
    if (result.status === 'done' || result.firings.length === 0) return;
    if (result.status === 'pending') logger.info({ firings: result.firings.length }, 'committing firings of an earlier delivery');

    const fired: FiredRule[] = [];
    for (const firing of result.firings) {
      const rule = rules.rules.find((candidate) => candidate.id === firing.ruleId);
      if (rule === undefined) {
        // Only a pending firing can name a rule that a reload has removed since.
        logger.warn({ ruleId: firing.ruleId, rulesVersion: rules.version }, 'a fired rule is no longer loaded; its intervention is dropped');
        continue;
      }
      fired.push({ rule, firing });
    }
    if (fired.length === 0) return;

    const recorded = await recordInterventions(this.options.pool, event, fired, {
      brand: this.options.brand,
      rulesVersion: rules.version,
      complianceEmail: this.options.complianceEmail,
    });
    const latencySeconds = (Date.now() - Date.parse(event.committedAt)) / 1000;
    for (const intervention of recorded) {
      metrics.interventions.inc({ rule_id: intervention.ruleId, rule_kind: intervention.ruleKind });
      metrics.eventToIntervention.observe(latencySeconds);
      logger.info(
        { interventionId: intervention.interventionId, ruleId: intervention.ruleId, flagId: intervention.flagId },
        'rule fired',
      );
    }
    if (recorded.length > 0) this.options.onRecorded(recorded);
  }
}
