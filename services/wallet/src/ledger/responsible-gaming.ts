import type { ExclusionKind, LimitPeriod, LimitType } from '@croupier/shared';
import { walletError } from '../errors.js';
import { query } from '../db/query.js';
import { requireCurrencyExponent } from './amount.js';
import type { LedgerStore, OperationLogger } from './store.js';

export interface PendingLimit {
  /** Null for a pending removal. */
  amountMinor: number | null;
  effectiveAt: string;
  changedBy: string;
}

/** One limit as it applies now, with the usage of the current calendar period. */
export interface LimitView {
  limitType: LimitType;
  period: LimitPeriod;
  currency: string;
  /** Null when no limit is in force. */
  amountMinor: number | null;
  pending: PendingLimit | null;
  /** Deposits, or net loss (negative while the player is ahead), in the current period. */
  usedMinor: number;
  remainingMinor: number | null;
  periodStart: string;
  periodEnd: string;
}

export interface PlayerLimits {
  playerId: string;
  currency: string;
  /** Deposit limits, then loss limits, each day, week, month. */
  limits: LimitView[];
  takenAt: string;
}

export interface ExclusionView {
  kind: ExclusionKind;
  startedAt: string;
  /** Null for an indefinite self-exclusion. */
  until: string | null;
  changedBy: string;
}

export interface PlayerExclusions {
  playerId: string;
  /** The exclusion in force that ends last, or null. */
  active: ExclusionView | null;
  /** Every exclusion of the player, newest first, at most MAX_LISTED_EXCLUSIONS. */
  exclusions: ExclusionView[];
  takenAt: string;
}

const MAX_LISTED_EXCLUSIONS = 100;

interface RequestContext {
  playerId: string;
  changedBy: string;
  traceparent: string;
  logger: OperationLogger;
}

export interface SetLimitRequest extends RequestContext {
  limitType: LimitType;
  period: LimitPeriod;
  currency: string;
  /** Null removes the limit. */
  amountMinor: number | null;
  coolingOffSeconds: number;
}

export interface StartExclusionRequest extends RequestContext {
  kind: ExclusionKind;
  /** ISO 8601 end, or null for an indefinite self-exclusion. */
  until: string | null;
}

/**
 * Sets one limit in the transaction that writes its audit row and its
 * PlayerLimitChanged event. A new or lower limit applies at once; a higher
 * limit or a removal applies after `coolingOffSeconds`.
 */
export async function setLimit(store: LedgerStore, request: SetLimitRequest): Promise<LimitView> {
  requireCurrencyExponent(request.currency);
  const args = [
    request.playerId,
    request.currency,
    request.limitType,
    request.period,
    request.amountMinor,
    request.changedBy,
    request.coolingOffSeconds,
  ];
  const response = await store.execute('wallet_set_limit', args, request.traceparent, request.logger);
  return JSON.parse(response.body) as LimitView;
}

/** Starts a time-out or self-exclusion now, with its audit row and PlayerExclusionStarted event. */
export async function startExclusion(store: LedgerStore, request: StartExclusionRequest): Promise<ExclusionView> {
  const args = [request.playerId, request.kind, request.until, request.changedBy];
  const response = await store.execute('wallet_start_exclusion', args, request.traceparent, request.logger);
  return JSON.parse(response.body) as ExclusionView;
}

/**
 * Reads every limit of the player as it applies now. A pending change whose
 * effective time has passed is shown as applied. The read writes nothing: the
 * next bet, deposit or limit change of that type stores the change and
 * publishes its event.
 */
export async function readLimits(store: LedgerStore, playerId: string): Promise<PlayerLimits> {
  const rows = await query<{ currency: string; taken_at: string; limits: LimitView[] }>(
    store,
    `SELECT p.currency, wallet_format_time(clock.now) AS taken_at,
            (SELECT jsonb_agg(wallet_limit_view(p, limit_type, period, clock.now)
                              ORDER BY limit_type, wallet_period_rank(period))
             FROM unnest(ARRAY['deposit', 'loss']) AS limit_type, unnest(ARRAY['day', 'week', 'month']) AS period) AS limits
     FROM players p CROSS JOIN (SELECT wallet_now() AS now) AS clock
     WHERE p.player_id = $1`,
    [playerId],
  );
  const row = rows[0];
  if (row === undefined) throw walletError('WALLET_ERR_PLAYER_NOT_FOUND', { playerId });
  return { playerId, currency: row.currency, limits: row.limits, takenAt: row.taken_at };
}

export async function readExclusions(store: LedgerStore, playerId: string): Promise<PlayerExclusions> {
  const rows = await query<{ taken_at: string; active: ExclusionView | null; exclusions: ExclusionView[] }>(
    store,
    `SELECT wallet_format_time(clock.now) AS taken_at,
            wallet_exclusion_state(wallet_active_exclusion(p.player_id, clock.now)) AS active,
            coalesce((SELECT jsonb_agg(wallet_exclusion_state(listed) ORDER BY listed.exclusion_id DESC)
                      FROM (SELECT * FROM player_exclusions e WHERE e.player_id = p.player_id
                            ORDER BY e.exclusion_id DESC LIMIT $2) AS listed), '[]'::jsonb) AS exclusions
     FROM players p CROSS JOIN (SELECT wallet_now() AS now) AS clock
     WHERE p.player_id = $1`,
    [playerId, MAX_LISTED_EXCLUSIONS],
  );
  const row = rows[0];
  if (row === undefined) throw walletError('WALLET_ERR_PLAYER_NOT_FOUND', { playerId });
  return { playerId, active: row.active, exclusions: row.exclusions, takenAt: row.taken_at };
}
