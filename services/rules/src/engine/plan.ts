import { brandRedisPrefix } from '@croupier/shared';
import type { EventEnvelope } from '@croupier/shared/contracts';
import { thresholdsFor, type CompiledRule, type RuleSet, type ThresholdValues } from '../rules/load.js';
import type { Measure } from '../rules/schema.js';
import { activityCurrencyOf, contributionsOf } from './measures.js';

/**
 * Redis keys of the rules service, all under the brand prefix
 * `croupier:<brand>:`. The player id comes last because it may contain ':'.
 */
export function rulesKeys(brand: string) {
  const prefix = `${brandRedisPrefix(brand)}rules:`;
  return {
    eventMarker: (eventId: string) => `${prefix}event:${eventId}`,
    series: (measure: Measure, currency: string, playerId: string) => `${prefix}series:${measure}:${currency}:${playerId}`,
    activity: (playerId: string) => `${prefix}activity:${playerId}`,
    fired: (ruleId: string, currency: string, playerId: string) => `${prefix}fired:${ruleId}:${currency}:${playerId}`,
  };
}

interface SeriesStep {
  k: number;
  member: string;
  keep: number;
}

interface CheckStep {
  r: string;
  kind: CompiledRule['kind'];
  k: number;
  f: number;
  w: number;
  cd: number;
  keep: number;
  th: ThresholdValues | { levelsMinor: number[]; levelsCrossed: number };
  amount?: number;
  member?: string;
  range?: number;
}

/** The arguments of one apply-event.lua call and the rules its checks refer to. */
export interface EventPlan {
  keys: string[];
  plan: { t: number; markerTtl: number; series: SeriesStep[]; checks: CheckStep[] };
}

export interface PlanSettings {
  brand: string;
  maxLatenessMs: number;
  markerTtlMs: number;
}

/**
 * Builds the script call for one event: which sorted sets get an entry, how
 * long each keeps entries (the longest window of the rules that read it,
 * plus the allowed lateness), and which rule checks run afterwards. Only
 * measures that some current rule reads are recorded.
 */
export function planEvent(event: EventEnvelope, rules: RuleSet, settings: PlanSettings): EventPlan {
  const keys = rulesKeys(settings.brand);
  const keyList: string[] = [keys.eventMarker(event.id)];
  const keyIndex = (key: string): number => {
    const existing = keyList.indexOf(key);
    if (existing >= 0) return existing + 1;
    keyList.push(key);
    return keyList.length;
  };
  const t = Date.parse(event.occurredAt);
  const series: SeriesStep[] = [];
  const checks: CheckStep[] = [];
  const lateness = settings.maxLatenessMs;

  for (const contribution of contributionsOf(event)) {
    const reading = rules.rules.filter(
      (rule): rule is Extract<CompiledRule, { measure: Measure }> => 'measure' in rule && rule.measure === contribution.measure,
    );
    const windowed = reading.filter((rule) => rule.kind !== 'single_transaction');
    if (windowed.length > 0) {
      const seriesKey = keyIndex(keys.series(contribution.measure, contribution.currency, event.playerId));
      const longestWindow = Math.max(...windowed.map((rule) => ('windowMs' in rule ? rule.windowMs : 0)));
      series.push({
        k: seriesKey,
        member: `${event.id}|${contribution.amountMinor}|${contribution.counted ? 1 : 0}`,
        keep: longestWindow + lateness,
      });
      for (const rule of windowed) {
        if (!('windowMs' in rule)) continue;
        const thresholds = thresholdsFor(rule, contribution.currency);
        if (thresholds === undefined) continue;
        const cooldown = rule.cooldownMs ?? -1;
        checks.push({
          r: rule.id,
          kind: rule.kind,
          k: seriesKey,
          f: keyIndex(keys.fired(rule.id, contribution.currency, event.playerId)),
          w: rule.windowMs,
          cd: cooldown,
          keep: Math.max(rule.windowMs, cooldown) + lateness,
          th: rule.kind === 'bonus_escalation' ? escalationThresholds(thresholds) : thresholds,
        });
      }
    }
    for (const rule of reading) {
      if (rule.kind !== 'single_transaction' || !contribution.counted) continue;
      const thresholds = thresholdsFor(rule, contribution.currency);
      if (thresholds === undefined) continue;
      const cooldown = rule.cooldownMs ?? -1;
      checks.push({
        r: rule.id,
        kind: rule.kind,
        k: 0,
        f: keyIndex(keys.fired(rule.id, contribution.currency, event.playerId)),
        w: 0,
        cd: cooldown,
        keep: Math.max(cooldown, 1) + lateness,
        th: thresholds,
        amount: contribution.amountMinor,
      });
    }
  }

  const activityCurrency = activityCurrencyOf(event);
  const sessionRules = rules.rules.filter((rule) => rule.kind === 'session_length');
  if (activityCurrency !== undefined && sessionRules.length > 0) {
    const activityKey = keyIndex(keys.activity(event.playerId));
    const member = `${event.id}|0|1`;
    // Reads reach back over the longest session threshold plus its idle gap,
    // which is enough to tell whether a session has reached its length.
    const range =
      Math.max(...sessionRules.map((rule) => rule.idleGapMs + maxSessionMs(rule.thresholds.values()))) + lateness;
    series.push({ k: activityKey, member, keep: range });
    for (const rule of sessionRules) {
      const thresholds = thresholdsFor(rule, activityCurrency);
      if (thresholds === undefined) continue;
      checks.push({
        r: rule.id,
        kind: rule.kind,
        k: activityKey,
        // One session spans currencies, so the fired key is per player only.
        f: keyIndex(keys.fired(rule.id, '-', event.playerId)),
        w: rule.idleGapMs,
        cd: rule.cooldownMs ?? -1,
        keep: settings.markerTtlMs,
        th: thresholds,
        member,
        range,
      });
    }
  }

  return { keys: keyList, plan: { t, markerTtl: settings.markerTtlMs, series, checks } };
}

function maxSessionMs(thresholds: Iterable<ThresholdValues>): number {
  let longest = 0;
  for (const values of thresholds) longest = Math.max(longest, (values.sessionSeconds ?? 0) * 1000);
  return longest;
}

/** Turns the flattened level1Minor, level2Minor, ... back into the ascending list the script reads. */
function escalationThresholds(values: ThresholdValues): { levelsMinor: number[]; levelsCrossed: number } {
  const levelsMinor: number[] = [];
  for (let level = 1; values[`level${level}Minor`] !== undefined; level += 1) levelsMinor.push(values[`level${level}Minor`] as number);
  return { levelsMinor, levelsCrossed: values.levelsCrossed ?? 0 };
}
