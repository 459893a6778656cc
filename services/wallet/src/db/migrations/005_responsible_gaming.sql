-- Responsible gaming: player-set deposit and loss limits per calendar day,
-- ISO week and month in UTC, time-outs and self-exclusions, their audit trail,
-- and the money operations redefined to enforce them inside their own
-- transaction. The wallet README describes the rules.

-- The wallet's clock for limits, periods and exclusions. Functions read it
-- once, after they locked the player row, so the times of one player's
-- operations follow the order in which they hold the lock. Tests set the
-- session setting wallet.clock to a timestamp to move time without waiting.
-- NOTE: any database session may set wallet.clock; the wallet process never does.
CREATE FUNCTION wallet_now() RETURNS timestamptz
LANGUAGE sql VOLATILE AS $$
  SELECT coalesce(nullif(current_setting('wallet.clock', true), '')::timestamptz, clock_timestamp())
$$;

-- The same text as the `occurredAt` of wallet_emit: UTC with microseconds.
CREATE FUNCTION wallet_format_time(p_time timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT to_char(p_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- Bounds of the calendar period in UTC that contains p_time: a day from 00:00,
-- an ISO week from Monday 00:00, a month from the 1st at 00:00. The start is
-- inclusive and the end exclusive.
CREATE FUNCTION wallet_period_bounds(p_period text, p_time timestamptz, OUT period_start timestamptz, OUT period_end timestamptz)
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT utc_start AT TIME ZONE 'UTC',
         (utc_start + CASE p_period WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '1 week' ELSE interval '1 month' END)
           AT TIME ZONE 'UTC'
  FROM (SELECT date_trunc(p_period, p_time AT TIME ZONE 'UTC') AS utc_start) AS bounds
$$;

-- Position of a period in the required order day <= week <= month.
CREATE FUNCTION wallet_period_rank(p_period text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT array_position(ARRAY['day', 'week', 'month'], p_period)
$$;

-- Orders one player's transactions in the order they took the player row
-- lock, which created_at (the transaction start) does not always follow.
ALTER TABLE wallet_transactions ADD COLUMN sequence bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX wallet_transactions_player_sequence_idx ON wallet_transactions (player_id, sequence DESC);

-- One row per limit that is in force. A requested increase or removal waits in
-- the pending columns until pending_effective_at; pending_amount_minor NULL
-- with a pending_effective_at is a pending removal.
CREATE TABLE player_limits (
  player_id             text NOT NULL REFERENCES players (player_id),
  currency              text NOT NULL,
  limit_type            text NOT NULL CHECK (limit_type IN ('deposit', 'loss')),
  period                text NOT NULL CHECK (period IN ('day', 'week', 'month')),
  amount_minor          bigint NOT NULL CHECK (amount_minor >= 0),
  pending_amount_minor  bigint CHECK (pending_amount_minor >= 0),
  pending_effective_at  timestamptz,
  pending_changed_by    text,
  updated_at            timestamptz NOT NULL,
  PRIMARY KEY (player_id, currency, limit_type, period),
  CHECK (pending_effective_at IS NOT NULL OR pending_amount_minor IS NULL),
  CHECK ((pending_effective_at IS NULL) = (pending_changed_by IS NULL))
);

-- Running totals of the latest calendar period of each kind in which the
-- player deposited or played. A total whose period_start is older than the
-- current period's start counts as zero.
CREATE TABLE player_period_totals (
  player_id       text NOT NULL REFERENCES players (player_id),
  period          text NOT NULL CHECK (period IN ('day', 'week', 'month')),
  period_start    timestamptz NOT NULL,
  deposit_minor   bigint NOT NULL DEFAULT 0 CHECK (deposit_minor >= 0),
  -- Stakes minus wins minus refunds of rolled-back bets; negative while the player is ahead.
  net_loss_minor  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (player_id, period)
);

-- Time-outs and self-exclusions, never updated or deleted: nobody can end one early.
CREATE TABLE player_exclusions (
  exclusion_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  player_id     text NOT NULL REFERENCES players (player_id),
  kind          text NOT NULL CHECK (kind IN ('timeout', 'self_exclusion')),
  started_at    timestamptz NOT NULL,
  -- NULL: indefinite, allowed for self-exclusions only.
  until         timestamptz CHECK (until > started_at),
  changed_by    text NOT NULL,
  CHECK (kind = 'self_exclusion' OR until IS NOT NULL)
);
CREATE INDEX player_exclusions_player_idx ON player_exclusions (player_id, exclusion_id);

-- Every limit change and exclusion: who, what, the state before and after,
-- when, and the id of the event published for it.
CREATE TABLE responsible_gaming_audit (
  audit_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  player_id       text NOT NULL REFERENCES players (player_id),
  -- limit_set: a request changed a limit; limit_pending_applied: a pending
  -- increase or removal took effect; exclusion_started: a time-out or self-exclusion began.
  action          text NOT NULL CHECK (action IN ('limit_set', 'limit_pending_applied', 'exclusion_started')),
  limit_type      text,
  period          text,
  currency        text NOT NULL,
  -- Limits: {amountMinor, pending: {amountMinor, effectiveAt, changedBy} | null}, NULL for no limit.
  -- Exclusions: {kind, startedAt, until, changedBy} of the active exclusion before and of the new one.
  previous_value  jsonb,
  new_value       jsonb,
  changed_by      text NOT NULL,
  changed_at      timestamptz NOT NULL,
  event_id        uuid NOT NULL,
  CHECK ((action = 'exclusion_started') = (limit_type IS NULL))
);
CREATE INDEX responsible_gaming_audit_player_idx ON responsible_gaming_audit (player_id, audit_id);

-- A rejection that still commits the outbox rows in p_outbox_ids (pending
-- limit changes applied before the check failed), returned so the wallet
-- publishes them at once.
CREATE FUNCTION wallet_reject_with_events(p_code text, p_details jsonb, p_outbox_ids bigint[]) RETURNS wallet_result
LANGUAGE sql VOLATILE AS $$
  SELECT ROW('rejected', NULL, NULL, p_code, p_details, p_outbox_ids, (
    SELECT jsonb_agg(jsonb_build_object(
      'outboxId', outbox_id::text, 'eventId', event_id, 'type', event_type, 'envelope', envelope) ORDER BY outbox_id)
    FROM outbox WHERE outbox_id = ANY(p_outbox_ids)))::wallet_result
$$;

-- ---------------------------------------------------------------------------
-- Period totals

-- Adds to the totals of the periods that contain p_now. A period that has
-- started since the stored one restarts from the amounts given. An amount
-- dated before the stored period (the clock stepped back) is added to the
-- stored period, which can only make a limit stricter.
CREATE FUNCTION wallet_add_to_totals(p_player_id text, p_now timestamptz, p_deposit_minor bigint, p_net_loss_minor bigint)
RETURNS void
LANGUAGE sql AS $$
  INSERT INTO player_period_totals AS totals (player_id, period, period_start, deposit_minor, net_loss_minor)
  SELECT p_player_id, period, (wallet_period_bounds(period, p_now)).period_start, p_deposit_minor, p_net_loss_minor
  FROM unnest(ARRAY['day', 'week', 'month']) AS period
  ON CONFLICT (player_id, period) DO UPDATE SET
    deposit_minor = CASE WHEN excluded.period_start > totals.period_start THEN excluded.deposit_minor
                         ELSE totals.deposit_minor + excluded.deposit_minor END,
    net_loss_minor = CASE WHEN excluded.period_start > totals.period_start THEN excluded.net_loss_minor
                          ELSE totals.net_loss_minor + excluded.net_loss_minor END,
    period_start = greatest(totals.period_start, excluded.period_start)
$$;

-- Takes a rolled-back stake out of the net loss of the stored periods that
-- contain the bet. The refund of a bet from an earlier period changes no
-- current total, so it cannot raise the room left under a loss limit.
CREATE FUNCTION wallet_refund_to_totals(p_player_id text, p_bet_time timestamptz, p_amount_minor bigint) RETURNS void
LANGUAGE sql AS $$
  UPDATE player_period_totals SET net_loss_minor = net_loss_minor - p_amount_minor
  WHERE player_id = p_player_id AND period_start <= p_bet_time
$$;

-- Deposits or net loss of the player in the period that contains p_now.
CREATE FUNCTION wallet_period_usage(p_player_id text, p_limit_type text, p_period text, p_now timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT coalesce((
    SELECT CASE p_limit_type WHEN 'deposit' THEN deposit_minor ELSE net_loss_minor END
    FROM player_period_totals
    WHERE player_id = p_player_id AND period = p_period
      AND period_start >= (wallet_period_bounds(p_period, p_now)).period_start), 0)::bigint
$$;

-- ---------------------------------------------------------------------------
-- Limits

-- A limit row as the audit trail stores it; NULL for no limit.
CREATE FUNCTION wallet_limit_state(p_limit player_limits) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_limit.amount_minor IS NULL THEN NULL ELSE jsonb_build_object(
    'amountMinor', p_limit.amount_minor,
    'pending', CASE WHEN p_limit.pending_effective_at IS NULL THEN NULL ELSE jsonb_build_object(
      'amountMinor', p_limit.pending_amount_minor,
      'effectiveAt', wallet_format_time(p_limit.pending_effective_at),
      'changedBy', p_limit.pending_changed_by) END) END
$$;

-- Writes the audit row and the PlayerLimitChanged event of one limit change.
CREATE FUNCTION wallet_record_limit_change(
  p_context jsonb, p_player players, p_action text, p_limit_type text, p_period text,
  p_previous player_limits, p_new player_limits, p_event_previous_minor bigint, p_event_amount_minor bigint,
  p_effective_at timestamptz, p_pending boolean, p_changed_by text, p_now timestamptz
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_outbox_id bigint;
BEGIN
  v_outbox_id := wallet_emit(p_context, p_player.player_id, 'PlayerLimitChanged', jsonb_build_object(
    'limitType', p_limit_type,
    'period', p_period,
    'currency', p_player.currency,
    'previousAmountMinor', p_event_previous_minor,
    'amountMinor', p_event_amount_minor,
    'effectiveAt', wallet_format_time(p_effective_at),
    'pending', p_pending,
    'changedBy', p_changed_by));
  INSERT INTO responsible_gaming_audit (player_id, action, limit_type, period, currency, previous_value, new_value,
    changed_by, changed_at, event_id)
  SELECT p_player.player_id, p_action, p_limit_type, p_period, p_player.currency, wallet_limit_state(p_previous),
    wallet_limit_state(p_new), p_changed_by, p_now, event_id
  FROM outbox WHERE outbox_id = v_outbox_id;
  RETURN v_outbox_id;
END
$$;

-- Applies every pending change of the player's p_limit_type limits whose
-- effective time has passed, with its audit row and a PlayerLimitChanged
-- event with pending false. Callers hold the player row lock, so each pending
-- change is applied, and its event written, exactly once. Returns the outbox ids.
CREATE FUNCTION wallet_apply_due_limits(p_context jsonb, p_player players, p_limit_type text, p_now timestamptz)
RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
  v_limit player_limits;
  v_applied player_limits;
  v_outbox_ids bigint[] := '{}';
BEGIN
  FOR v_limit IN
    SELECT * FROM player_limits
    WHERE player_id = p_player.player_id AND currency = p_player.currency AND limit_type = p_limit_type
      AND pending_effective_at <= p_now
    ORDER BY wallet_period_rank(period)
  LOOP
    IF v_limit.pending_amount_minor IS NULL THEN
      DELETE FROM player_limits
      WHERE player_id = v_limit.player_id AND currency = v_limit.currency AND limit_type = v_limit.limit_type
        AND period = v_limit.period;
      v_applied := NULL;
    ELSE
      UPDATE player_limits
      SET amount_minor = pending_amount_minor, pending_amount_minor = NULL, pending_effective_at = NULL,
          pending_changed_by = NULL, updated_at = p_now
      WHERE player_id = v_limit.player_id AND currency = v_limit.currency AND limit_type = v_limit.limit_type
        AND period = v_limit.period
      RETURNING * INTO v_applied;
    END IF;

    v_outbox_ids := v_outbox_ids || wallet_record_limit_change(p_context, p_player, 'limit_pending_applied',
      v_limit.limit_type, v_limit.period, v_limit, v_applied, v_limit.amount_minor, v_limit.pending_amount_minor,
      v_limit.pending_effective_at, false, v_limit.pending_changed_by, p_now);
  END LOOP;
  RETURN v_outbox_ids;
END
$$;

-- Returns NULL when p_amount_minor fits under every p_limit_type limit in
-- force, otherwise the details of the first exceeded one in day, week, month
-- order. Callers apply due pending changes first.
CREATE FUNCTION wallet_exceeded_limit(p_player players, p_limit_type text, p_amount_minor bigint, p_now timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'playerId', p_player.player_id,
    'limitType', l.limit_type,
    'period', l.period,
    'currency', l.currency,
    'limitMinor', l.amount_minor,
    'usedMinor', usage.used_minor,
    'attemptedMinor', p_amount_minor,
    'periodStart', wallet_format_time(bounds.period_start),
    'periodEnd', wallet_format_time(bounds.period_end))
  FROM player_limits l
  CROSS JOIN LATERAL wallet_period_bounds(l.period, p_now) AS bounds
  CROSS JOIN LATERAL (SELECT wallet_period_usage(l.player_id, l.limit_type, l.period, p_now) AS used_minor) AS usage
  WHERE l.player_id = p_player.player_id AND l.currency = p_player.currency AND l.limit_type = p_limit_type
    AND usage.used_minor + p_amount_minor > l.amount_minor
  ORDER BY wallet_period_rank(l.period)
  LIMIT 1
$$;

-- One limit as the licensee API returns it, evaluated at p_now: a pending
-- change whose effective time has passed counts as applied even before a
-- money operation or limit change writes it.
CREATE FUNCTION wallet_limit_view(p_player players, p_limit_type text, p_period text, p_now timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'limitType', p_limit_type,
    'period', p_period,
    'currency', p_player.currency,
    'amountMinor', effective.amount_minor,
    'pending', CASE WHEN effective.pending_due OR l.pending_effective_at IS NULL THEN NULL ELSE jsonb_build_object(
      'amountMinor', l.pending_amount_minor,
      'effectiveAt', wallet_format_time(l.pending_effective_at),
      'changedBy', l.pending_changed_by) END,
    'usedMinor', usage.used_minor,
    'remainingMinor', CASE WHEN effective.amount_minor IS NULL THEN NULL
                           ELSE greatest(effective.amount_minor - usage.used_minor, 0) END,
    'periodStart', wallet_format_time(bounds.period_start),
    'periodEnd', wallet_format_time(bounds.period_end))
  FROM wallet_period_bounds(p_period, p_now) AS bounds
  CROSS JOIN LATERAL (SELECT wallet_period_usage(p_player.player_id, p_limit_type, p_period, p_now) AS used_minor) AS usage
  LEFT JOIN player_limits l
    ON l.player_id = p_player.player_id AND l.currency = p_player.currency AND l.limit_type = p_limit_type AND l.period = p_period
  CROSS JOIN LATERAL (
    SELECT coalesce(l.pending_effective_at <= p_now, false) AS pending_due,
           CASE WHEN l.pending_effective_at <= p_now THEN l.pending_amount_minor ELSE l.amount_minor END AS amount_minor
  ) AS effective
$$;

-- Returns NULL when the player's p_limit_type limits, with p_candidate in
-- place of the row of its period, keep day <= week <= month at now and at
-- every pending effective time; otherwise the first violation. Periods
-- without a limit are not compared.
CREATE FUNCTION wallet_limit_order_violation(p_player players, p_limit_type text, p_candidate player_limits, p_period text, p_now timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  WITH candidate_limits AS (
    SELECT period, amount_minor, pending_amount_minor, pending_effective_at FROM player_limits
    WHERE player_id = p_player.player_id AND currency = p_player.currency AND limit_type = p_limit_type AND period <> p_period
    UNION ALL
    SELECT p_period, p_candidate.amount_minor, p_candidate.pending_amount_minor, p_candidate.pending_effective_at
    WHERE p_candidate.amount_minor IS NOT NULL
  ), check_times AS (
    SELECT p_now AS at
    UNION
    SELECT pending_effective_at FROM candidate_limits WHERE pending_effective_at > p_now
  ), effective AS (
    SELECT t.at, c.period,
           CASE WHEN c.pending_effective_at <= t.at THEN c.pending_amount_minor ELSE c.amount_minor END AS amount_minor
    FROM check_times t CROSS JOIN candidate_limits c
  )
  SELECT jsonb_build_object(
    'limitType', p_limit_type,
    'currency', p_player.currency,
    'shorterPeriod', shorter.period,
    'shorterAmountMinor', shorter.amount_minor,
    'longerPeriod', longer.period,
    'longerAmountMinor', longer.amount_minor,
    'at', wallet_format_time(shorter.at))
  FROM effective shorter
  JOIN effective longer ON longer.at = shorter.at AND wallet_period_rank(longer.period) > wallet_period_rank(shorter.period)
  WHERE shorter.amount_minor > longer.amount_minor
  ORDER BY shorter.at, wallet_period_rank(shorter.period), wallet_period_rank(longer.period)
  LIMIT 1
$$;

-- Sets one limit on request of p_changed_by; p_amount_minor NULL removes it.
-- A new limit, a decrease or the current value applies at once and drops a
-- pending change of that limit. An increase or a removal waits
-- p_cooling_off_seconds while the current value stays in force. Setting the
-- value in force with nothing pending changes nothing and publishes nothing.
CREATE FUNCTION wallet_set_limit(
  p_context jsonb, p_player_id text, p_currency text, p_limit_type text, p_period text,
  p_amount_minor bigint, p_changed_by text, p_cooling_off_seconds integer
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_now timestamptz;
  v_outbox_ids bigint[];
  v_current player_limits;
  v_candidate player_limits;
  v_waits boolean;
  v_effective_at timestamptz;
  v_violation jsonb;
BEGIN
  SELECT * INTO v_player FROM players WHERE player_id = p_player_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_NOT_FOUND', jsonb_build_object('playerId', p_player_id));
  END IF;
  IF p_currency <> v_player.currency THEN
    RETURN wallet_reject('WALLET_ERR_CURRENCY_MISMATCH', jsonb_build_object('currency', p_currency, 'playerCurrency', v_player.currency));
  END IF;

  v_now := wallet_now();
  v_outbox_ids := wallet_apply_due_limits(p_context, v_player, p_limit_type, v_now);
  SELECT * INTO v_current FROM player_limits
  WHERE player_id = p_player_id AND currency = v_player.currency AND limit_type = p_limit_type AND period = p_period;

  IF v_current.pending_effective_at IS NULL AND v_current.amount_minor IS NOT DISTINCT FROM p_amount_minor THEN
    RETURN wallet_applied(wallet_limit_view(v_player, p_limit_type, p_period, v_now)::text, v_outbox_ids);
  END IF;

  -- Waiting is for changes that loosen the limit in force: a higher value or a removal.
  v_waits := v_current.amount_minor IS NOT NULL AND p_cooling_off_seconds > 0
    AND (p_amount_minor IS NULL OR p_amount_minor > v_current.amount_minor);
  v_candidate.player_id := p_player_id;
  v_candidate.currency := v_player.currency;
  v_candidate.limit_type := p_limit_type;
  v_candidate.period := p_period;
  v_candidate.updated_at := v_now;
  IF v_waits THEN
    v_effective_at := v_now + make_interval(secs => p_cooling_off_seconds);
    v_candidate.amount_minor := v_current.amount_minor;
    v_candidate.pending_amount_minor := p_amount_minor;
    v_candidate.pending_effective_at := v_effective_at;
    v_candidate.pending_changed_by := p_changed_by;
  ELSE
    v_effective_at := v_now;
    v_candidate.amount_minor := p_amount_minor;
  END IF;

  v_violation := wallet_limit_order_violation(v_player, p_limit_type, v_candidate, p_period, v_now);
  IF v_violation IS NOT NULL THEN
    RETURN wallet_reject_with_events('WALLET_ERR_LIMIT_ORDER_INVALID',
      v_violation || jsonb_build_object('period', p_period, 'requestedAmountMinor', p_amount_minor), v_outbox_ids);
  END IF;

  IF v_candidate.amount_minor IS NULL THEN
    DELETE FROM player_limits
    WHERE player_id = p_player_id AND currency = v_player.currency AND limit_type = p_limit_type AND period = p_period;
  ELSE
    INSERT INTO player_limits SELECT v_candidate.*
    ON CONFLICT (player_id, currency, limit_type, period) DO UPDATE SET
      amount_minor = excluded.amount_minor, pending_amount_minor = excluded.pending_amount_minor,
      pending_effective_at = excluded.pending_effective_at, pending_changed_by = excluded.pending_changed_by,
      updated_at = excluded.updated_at;
  END IF;

  v_outbox_ids := v_outbox_ids || wallet_record_limit_change(p_context, v_player, 'limit_set', p_limit_type, p_period,
    v_current, v_candidate, v_current.amount_minor, p_amount_minor, v_effective_at, v_waits, p_changed_by, v_now);
  RETURN wallet_applied(wallet_limit_view(v_player, p_limit_type, p_period, v_now)::text, v_outbox_ids);
END
$$;

-- ---------------------------------------------------------------------------
-- Exclusions

CREATE FUNCTION wallet_exclusion_state(p_exclusion player_exclusions) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_exclusion.exclusion_id IS NULL THEN NULL ELSE jsonb_build_object(
    'kind', p_exclusion.kind,
    'startedAt', wallet_format_time(p_exclusion.started_at),
    'until', wallet_format_time(p_exclusion.until),
    'changedBy', p_exclusion.changed_by) END
$$;

-- The exclusion in force at p_now that ends last (an indefinite one first),
-- or a row of NULLs when none is.
CREATE FUNCTION wallet_active_exclusion(p_player_id text, p_now timestamptz) RETURNS player_exclusions
LANGUAGE sql STABLE AS $$
  SELECT * FROM player_exclusions
  WHERE player_id = p_player_id AND started_at <= p_now AND (until IS NULL OR until > p_now)
  ORDER BY until DESC NULLS FIRST
  LIMIT 1
$$;

-- Details of WALLET_ERR_PLAYER_EXCLUDED, or NULL when no exclusion is in force.
CREATE FUNCTION wallet_exclusion_details(p_player_id text, p_now timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('playerId', p_player_id) || wallet_exclusion_state(active)
  FROM wallet_active_exclusion(p_player_id, p_now) AS active
  WHERE active.exclusion_id IS NOT NULL
$$;

-- Starts a time-out or self-exclusion now, on request of p_changed_by. It
-- must end later than any exclusion in force (NULL: indefinite, the latest),
-- so no request can shorten or lift one.
CREATE FUNCTION wallet_start_exclusion(
  p_context jsonb, p_player_id text, p_kind text, p_until timestamptz, p_changed_by text
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_now timestamptz;
  v_active player_exclusions;
  v_exclusion player_exclusions;
  v_outbox_id bigint;
BEGIN
  SELECT * INTO v_player FROM players WHERE player_id = p_player_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_NOT_FOUND', jsonb_build_object('playerId', p_player_id));
  END IF;

  v_now := wallet_now();
  IF p_kind = 'timeout' AND p_until IS NULL THEN
    RETURN wallet_reject('WALLET_ERR_EXCLUSION_INVALID',
      jsonb_build_object('kind', p_kind, 'until', NULL, 'reason', 'a time-out needs an end time in until'));
  END IF;
  IF p_until <= v_now THEN
    RETURN wallet_reject('WALLET_ERR_EXCLUSION_INVALID', jsonb_build_object(
      'kind', p_kind, 'until', wallet_format_time(p_until), 'reason', 'until must be in the future',
      'now', wallet_format_time(v_now)));
  END IF;

  v_active := wallet_active_exclusion(p_player_id, v_now);
  IF v_active.exclusion_id IS NOT NULL AND (v_active.until IS NULL OR (p_until IS NOT NULL AND p_until <= v_active.until)) THEN
    RETURN wallet_reject('WALLET_ERR_EXCLUSION_ACTIVE', jsonb_build_object('playerId', p_player_id,
      'requestedKind', p_kind, 'requestedUntil', wallet_format_time(p_until), 'active', wallet_exclusion_state(v_active)));
  END IF;

  INSERT INTO player_exclusions (player_id, kind, started_at, until, changed_by)
  VALUES (p_player_id, p_kind, v_now, p_until, p_changed_by)
  RETURNING * INTO v_exclusion;

  v_outbox_id := wallet_emit(p_context, p_player_id, 'PlayerExclusionStarted', jsonb_build_object(
    'kind', p_kind, 'startedAt', wallet_format_time(v_now), 'until', wallet_format_time(p_until), 'changedBy', p_changed_by));
  INSERT INTO responsible_gaming_audit (player_id, action, currency, previous_value, new_value, changed_by, changed_at, event_id)
  SELECT p_player_id, 'exclusion_started', v_player.currency, wallet_exclusion_state(v_active),
    wallet_exclusion_state(v_exclusion), p_changed_by, v_now, event_id
  FROM outbox WHERE outbox_id = v_outbox_id;

  RETURN wallet_applied(wallet_exclusion_state(v_exclusion)::text, ARRAY[v_outbox_id]);
END
$$;
