import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Deduplicator } from '@croupier/shared';
import type { EventPlan } from './plan.js';
import { rulesKeys } from './plan.js';

const APPLY_EVENT_SCRIPT = readFileSync(new URL('./apply-event.lua', import.meta.url), 'utf8');

/** A rule that fired for an event, as the script reports it. Times are epoch milliseconds. */
export interface Firing {
  ruleId: string;
  /** Null for single_transaction rules, which have no window. */
  windowStartMs: number | null;
  windowEndMs: number;
  values: Record<string, number>;
}

export interface ApplyResult {
  /**
   * applied: this call counted the event. pending: an earlier delivery
   * counted it and its firings may not be committed yet, so the caller
   * commits them again (idempotently). done: nothing left to do.
   */
  status: 'applied' | 'pending' | 'done';
  firings: Firing[];
}

type ApplyEventCommand = (numberOfKeys: number, ...args: string[]) => Promise<[string, string]>;

/**
 * The windowed aggregates in Redis. `apply` runs apply-event.lua, which
 * de-duplicates the event, adds its entries and evaluates the rules in one
 * atomic step. ioredis sends the script by EVALSHA and falls back to EVAL
 * when Redis does not have it cached.
 */
export class AggregateStore implements Deduplicator {
  private readonly keys;

  constructor(
    private readonly redis: Redis,
    brand: string,
    private readonly markerTtlMs: number,
  ) {
    this.keys = rulesKeys(brand);
    if (!('rulesApplyEvent' in redis)) redis.defineCommand('rulesApplyEvent', { lua: APPLY_EVENT_SCRIPT });
  }

  async apply(plan: EventPlan): Promise<ApplyResult> {
    const command = (this.redis as unknown as { rulesApplyEvent: ApplyEventCommand }).rulesApplyEvent.bind(this.redis);
    const [status, text] = await command(plan.keys.length, ...plan.keys, JSON.stringify(plan.plan));
    return { status: status as ApplyResult['status'], firings: parseFirings(text) };
  }

  /** Skips only events whose interventions are committed; a pending marker is finished by the handler. */
  async isProcessed(eventId: string): Promise<boolean> {
    return (await this.redis.get(this.keys.eventMarker(eventId))) === 'done';
  }

  async markProcessed(eventId: string): Promise<void> {
    await this.redis.set(this.keys.eventMarker(eventId), 'done', 'PX', this.markerTtlMs);
  }
}

/** Parses the script's "ruleId,windowStart,windowEnd,name=value;..." lines. */
export function parseFirings(text: string): Firing[] {
  if (text === '') return [];
  return text.split('\n').map((line) => {
    const [ruleId = '', start = '', end = '', valueText = ''] = line.split(',');
    const values: Record<string, number> = {};
    for (const pair of valueText.split(';')) {
      const [name, value] = pair.split('=');
      if (name !== undefined && name !== '' && value !== undefined) values[name] = Number(value);
    }
    return { ruleId, windowStartMs: start === '' ? null : Number(start), windowEndMs: Number(end), values };
  });
}
