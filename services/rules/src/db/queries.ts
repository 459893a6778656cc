import type pg from 'pg';
import type { FlagStatus, Severity, StaffRole } from '@croupier/shared';
import { rulesError } from '../http/errors.js';
import { inTransaction } from './pool.js';
import { insertOutboxEvent } from './outbox-rows.js';

export interface InterventionView {
  interventionId: string;
  playerId: string;
  ruleId: string;
  ruleKind: string;
  rulesVersion: string;
  severity: Severity;
  actions: string[];
  message: string;
  triggeringEventId: string;
  triggeringEventType: string;
  triggeringCommittedAt: string;
  windowStart: string | null;
  windowEnd: string;
  currency: string | null;
  values: Record<string, number>;
  thresholds: Record<string, number>;
  flagId: string | null;
  createdAt: string;
}

export interface FlagView {
  flagId: string;
  interventionId: string;
  playerId: string;
  ruleId: string;
  severity: Severity;
  status: FlagStatus;
  createdAt: string;
  updatedAt: string;
  /** Actor and note of the latest change, from the audit trail, so that lists can show them. */
  lastActor: string | null;
  lastNote: string | null;
}

export interface AuditEntryView {
  action: 'opened' | 'review_started' | 'resolved';
  fromStatus: FlagStatus | null;
  toStatus: FlagStatus;
  actor: string;
  actorRole: StaffRole | null;
  note: string | null;
  at: string;
}

export interface FlagDetailView extends FlagView {
  intervention: InterventionView;
  audit: AuditEntryView[];
}

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

function interventionView(row: Record<string, unknown>): InterventionView {
  return {
    interventionId: row.intervention_id as string,
    playerId: row.player_id as string,
    ruleId: row.rule_id as string,
    ruleKind: row.rule_kind as string,
    rulesVersion: row.rules_version as string,
    severity: row.severity as Severity,
    actions: row.actions as string[],
    message: row.message as string,
    triggeringEventId: row.triggering_event_id as string,
    triggeringEventType: row.triggering_event_type as string,
    triggeringCommittedAt: (row.triggering_committed_at as Date).toISOString(),
    windowStart: iso(row.window_start as Date | null),
    windowEnd: (row.window_end as Date).toISOString(),
    currency: row.currency as string | null,
    values: row.window_values as Record<string, number>,
    thresholds: row.thresholds as Record<string, number>,
    flagId: row.flag_id as string | null,
    createdAt: (row.created_at as Date).toISOString(),
  };
}

function flagView(row: Record<string, unknown>): FlagView {
  return {
    flagId: row.flag_id as string,
    interventionId: row.intervention_id as string,
    playerId: row.player_id as string,
    ruleId: row.rule_id as string,
    severity: row.severity as Severity,
    status: row.status as FlagStatus,
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
    lastActor: (row.last_actor as string | null | undefined) ?? null,
    lastNote: (row.last_note as string | null | undefined) ?? null,
  };
}

/** Selects flags with the actor and note of their latest audit entry. */
const FLAGS_WITH_LAST_CHANGE = `SELECT f.*, last.actor AS last_actor, last.note AS last_note
  FROM rules.flags f
  LEFT JOIN LATERAL (
    SELECT actor, note FROM rules.flag_audit a WHERE a.flag_id = f.flag_id ORDER BY a.audit_id DESC LIMIT 1
  ) last ON true`;

/** Returns a player's interventions, newest first. */
export async function listPlayerInterventions(pool: pg.Pool, playerId: string, limit: number): Promise<InterventionView[]> {
  const { rows } = await pool.query(
    'SELECT * FROM rules.interventions WHERE player_id = $1 ORDER BY created_at DESC, intervention_id LIMIT $2',
    [playerId, limit],
  );
  return rows.map(interventionView);
}

/** Returns a player's flags, newest first. */
export async function listPlayerFlags(pool: pg.Pool, playerId: string): Promise<FlagView[]> {
  const { rows } = await pool.query(`${FLAGS_WITH_LAST_CHANGE} WHERE f.player_id = $1 ORDER BY f.created_at DESC, f.flag_id`, [playerId]);
  return rows.map(flagView);
}

/** Returns the flags with one of `statuses`, oldest first, as a work queue. */
export async function listFlags(pool: pg.Pool, statuses: readonly FlagStatus[], limit: number): Promise<FlagView[]> {
  const { rows } = await pool.query(`${FLAGS_WITH_LAST_CHANGE} WHERE f.status = ANY($1::text[]) ORDER BY f.created_at, f.flag_id LIMIT $2`, [
    statuses,
    limit,
  ]);
  return rows.map(flagView);
}

export async function getFlagDetail(client: pg.Pool | pg.PoolClient, flagId: string): Promise<FlagDetailView> {
  const flags = await client.query('SELECT * FROM rules.flags WHERE flag_id = $1', [flagId]);
  const flag = flags.rows[0];
  if (flag === undefined) throw rulesError('RULES_ERR_FLAG_NOT_FOUND', { flagId });
  const interventions = await client.query('SELECT * FROM rules.interventions WHERE intervention_id = $1', [flag.intervention_id]);
  const audit = await client.query('SELECT * FROM rules.flag_audit WHERE flag_id = $1 ORDER BY audit_id', [flagId]);
  return {
    ...flagView(flag),
    intervention: interventionView(interventions.rows[0]),
    audit: audit.rows.map((row) => ({
      action: row.action,
      fromStatus: row.from_status,
      toStatus: row.to_status,
      actor: row.actor,
      actorRole: row.actor_role,
      note: row.note,
      at: (row.created_at as Date).toISOString(),
    })),
  };
}

const TRANSITIONS = {
  review: { from: 'open', to: 'in_review', action: 'review_started' },
  resolve: { from: 'in_review', to: 'resolved', action: 'resolved' },
} as const;

/**
 * Moves a flag one step (open → in_review → resolved) with an audit row and
 * a ComplianceFlagChanged outbox event, in one transaction that locks the flag.
 */
export async function transitionFlag(
  pool: pg.Pool,
  brand: string,
  flagId: string,
  operation: keyof typeof TRANSITIONS,
  actor: { username: string; role: StaffRole },
  note: string | null,
): Promise<FlagDetailView> {
  const transition = TRANSITIONS[operation];
  return inTransaction(pool, async (client) => {
    const locked = await client.query('SELECT * FROM rules.flags WHERE flag_id = $1 FOR UPDATE', [flagId]);
    const flag = locked.rows[0];
    if (flag === undefined) throw rulesError('RULES_ERR_FLAG_NOT_FOUND', { flagId });
    if (flag.status !== transition.from) {
      throw rulesError('RULES_ERR_FLAG_TRANSITION_INVALID', { flagId, status: flag.status, operation, requiredStatus: transition.from });
    }
    await client.query('UPDATE rules.flags SET status = $2, updated_at = now() WHERE flag_id = $1', [flagId, transition.to]);
    await client.query(
      `INSERT INTO rules.flag_audit (flag_id, action, from_status, to_status, actor, actor_role, note)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [flagId, transition.action, transition.from, transition.to, actor.username, actor.role, note],
    );
    await insertOutboxEvent(client, {
      type: 'ComplianceFlagChanged',
      brand,
      playerId: flag.player_id,
      occurredAt: new Date(),
      data: {
        flagId,
        interventionId: flag.intervention_id,
        ruleId: flag.rule_id,
        severity: flag.severity,
        status: transition.to,
        previousStatus: transition.from,
        changedBy: actor.username,
        note,
      },
    });
    return getFlagDetail(client, flagId);
  });
}
