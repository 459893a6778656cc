import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { EventEnvelope } from '@croupier/shared/contracts';
import { inTransaction } from '../db/pool.js';
import { insertOutboxEvent } from '../db/outbox-rows.js';
import { thresholdsFor, type CompiledRule } from '../rules/load.js';
import type { Firing } from './aggregates.js';

/** The engine's name in audit rows and in `changedBy` of the flags it opens. */
export const ENGINE_ACTOR = 'rules-engine';

export interface FiredRule {
  rule: CompiledRule;
  firing: Firing;
}

export interface RecordedIntervention {
  interventionId: string;
  ruleId: string;
  ruleKind: CompiledRule['kind'];
  flagId: string | null;
  sendsEmail: boolean;
}

export interface RecordSettings {
  brand: string;
  rulesVersion: string;
  complianceEmail: string;
}

/**
 * Derives an id from the event and the rule, so that a redelivered event
 * that fires the same rule again finds its intervention already stored. The
 * result has the layout of a UUID version 8 (RFC 9562, custom).
 */
export function derivedUuid(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Stores the interventions of one event, with their flags, audit rows,
 * outbox events and emails, in one transaction. An intervention already
 * stored by an earlier delivery is skipped with everything that belongs to
 * it. Returns the interventions this call inserted.
 */
export async function recordInterventions(
  pool: pg.Pool,
  event: EventEnvelope,
  fired: readonly FiredRule[],
  settings: RecordSettings,
): Promise<RecordedIntervention[]> {
  return inTransaction(pool, async (client) => {
    const recorded: RecordedIntervention[] = [];
    for (const { rule, firing } of fired) {
      const currency = currencyOf(event);
      const interventionId = derivedUuid(settings.brand, event.id, rule.id);
      const flagId = rule.actions.includes('flag') ? derivedUuid(settings.brand, event.id, rule.id, 'flag') : null;
      const thresholds = (currency === null ? rule.thresholds.get('*') : thresholdsFor(rule, currency)) ?? {};
      const windowStart = firing.windowStartMs === null ? null : new Date(firing.windowStartMs);
      const windowEnd = new Date(firing.windowEndMs);

      const inserted = await client.query(
        `INSERT INTO rules.interventions (intervention_id, player_id, rule_id, rule_kind, rules_version, severity, actions,
           message, triggering_event_id, triggering_event_type, triggering_committed_at, window_start, window_end, currency,
           window_values, thresholds, flag_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (intervention_id) DO NOTHING`,
        [
          interventionId,
          event.playerId,
          rule.id,
          rule.kind,
          settings.rulesVersion,
          rule.severity,
          rule.actions,
          rule.message,
          event.id,
          event.type,
          event.committedAt,
          windowStart,
          windowEnd,
          currency,
          JSON.stringify(firing.values),
          JSON.stringify(thresholds),
          flagId,
        ],
      );
      if (inserted.rowCount === 0) continue;

      const now = new Date();
      if (flagId !== null) {
        await client.query(
          `INSERT INTO rules.flags (flag_id, intervention_id, player_id, rule_id, severity, status)
           VALUES ($1, $2, $3, $4, $5, 'open')`,
          [flagId, interventionId, event.playerId, rule.id, rule.severity],
        );
        await client.query(
          `INSERT INTO rules.flag_audit (flag_id, action, from_status, to_status, actor, actor_role, note)
           VALUES ($1, 'opened', NULL, 'open', $2, NULL, $3)`,
          [flagId, ENGINE_ACTOR, `rule ${rule.id} fired on event ${event.id}`],
        );
        await insertOutboxEvent(client, {
          type: 'ComplianceFlagChanged',
          brand: settings.brand,
          playerId: event.playerId,
          occurredAt: now,
          data: {
            flagId,
            interventionId,
            ruleId: rule.id,
            severity: rule.severity,
            status: 'open',
            previousStatus: null,
            changedBy: ENGINE_ACTOR,
            note: null,
          },
        });
      }

      await insertOutboxEvent(client, {
        type: 'InterventionTriggered',
        brand: settings.brand,
        playerId: event.playerId,
        occurredAt: now,
        data: {
          interventionId,
          ruleId: rule.id,
          ruleKind: rule.kind,
          severity: rule.severity,
          actions: rule.actions,
          message: rule.message,
          triggeringEventId: event.id,
          triggeringCommittedAt: event.committedAt,
          windowStart: windowStart?.toISOString() ?? null,
          windowEnd: windowEnd.toISOString(),
          currency,
          values: firing.values,
          thresholds,
          flagId,
        },
      });

      const sendsEmail = rule.actions.includes('email');
      if (sendsEmail) {
        await client.query(
          'INSERT INTO rules.email_outbox (intervention_id, recipient, subject, body) VALUES ($1, $2, $3, $4)',
          [
            interventionId,
            settings.complianceEmail,
            `[${settings.brand}] ${rule.severity} severity: rule ${rule.id} fired for player ${event.playerId}`,
            emailBody(settings.brand, event, rule, firing, interventionId, flagId, currency, thresholds),
          ],
        );
      }
      recorded.push({ interventionId, ruleId: rule.id, ruleKind: rule.kind, flagId, sendsEmail });
    }
    return recorded;
  });
}

function currencyOf(event: EventEnvelope): string | null {
  const data = event.data as { currency?: unknown };
  return typeof data.currency === 'string' ? data.currency : null;
}

function emailBody(
  brand: string,
  event: EventEnvelope,
  rule: CompiledRule,
  firing: Firing,
  interventionId: string,
  flagId: string | null,
  currency: string | null,
  thresholds: Record<string, number>,
): string {
  const lines = [
    `Brand: ${brand}`,
    `Player: ${event.playerId}`,
    `Rule: ${rule.id} (${rule.kind}), severity ${rule.severity}`,
    `Message to the player: ${rule.message}`,
    `Intervention: ${interventionId}`,
    `Compliance flag: ${flagId ?? 'none'}`,
    `Triggering event: ${event.type} ${event.id}, occurred ${event.occurredAt}`,
    `Window: ${firing.windowStartMs === null ? '(single transaction)' : new Date(firing.windowStartMs).toISOString()} to ${new Date(firing.windowEndMs).toISOString()}`,
    `Currency: ${currency ?? 'n/a'}`,
    `Values: ${JSON.stringify(firing.values)}`,
    `Thresholds: ${JSON.stringify(thresholds)}`,
  ];
  return `${lines.join('\n')}\n`;
}
