-- Keeps period totals only for players who have at least one limit, of either
-- type and in any state, pending removal included. 005 and 006 upserted three
-- player_period_totals rows on every bet, win, rollback and deposit of every
-- player, although almost no player sets a limit.
--
-- One condition for both limit types: a player with any limit pays one upsert
-- per operation, which updates the deposit and the net-loss columns together,
-- so tracking only the type that has a limit would save nothing per operation
-- and would need a second start point for the other column.
--
-- The money functions lock the player row before they read whether a limit
-- exists, and wallet_set_limit locks it before it creates the first one and
-- computes the totals from the ledger. So an operation either commits before
-- the limit is created, and the ledger sum includes it, or it runs after and
-- adds to the totals itself.

-- Bounds the ledger read that computes the totals of the current day, week and
-- month of one player, when the first limit is created and when GET /limits
-- shows the usage of a player without limits.
CREATE INDEX wallet_transactions_player_created_idx ON wallet_transactions (player_id, created_at);

-- Rows of players without limits are no longer kept up to date.
DELETE FROM player_period_totals totals
WHERE NOT EXISTS (SELECT 1 FROM player_limits l WHERE l.player_id = totals.player_id);

COMMENT ON TABLE player_period_totals IS
  'Running totals of the players that have at least one limit; rows are created with the first limit and deleted with the last.';

-- ---------------------------------------------------------------------------
-- Period totals

-- Deposits and net loss of the player in the day, week and month that contain
-- p_now, summed from the ledger with the rules of the running totals: a
-- deposit, bet or win counts in the periods that contain its created_at (the
-- wallet clock when it was booked), and a rolled-back bet counts in none, so
-- its refund leaves exactly the periods that contain the bet.
-- NOTE: entries dated after p_now count too. The running totals instead add an
-- entry dated before their stored period to that period, so the two differ
-- only after the wallet clock stepped back.
CREATE FUNCTION wallet_ledger_period_totals(p_player_id text, p_now timestamptz)
RETURNS TABLE (period text, period_start timestamptz, deposit_minor bigint, net_loss_minor bigint)
LANGUAGE sql STABLE AS $$
  WITH bounds AS (
    SELECT kind.period, (wallet_period_bounds(kind.period, p_now)).period_start
    FROM unnest(ARRAY['day', 'week', 'month']) AS kind (period)
  ), movements AS MATERIALIZED (
    SELECT t.created_at,
           CASE WHEN t.kind = 'deposit' THEN t.amount_minor ELSE 0 END AS deposit_minor,
           CASE t.kind WHEN 'bet' THEN t.amount_minor WHEN 'win' THEN -t.amount_minor ELSE 0 END AS net_loss_minor
    FROM wallet_transactions t
    WHERE t.player_id = p_player_id
      AND t.created_at >= (SELECT min(b.period_start) FROM bounds b)
      AND (t.kind IN ('deposit', 'win') OR (t.kind = 'bet' AND t.rolled_back_by IS NULL))
  )
  SELECT b.period, b.period_start, coalesce(sum(m.deposit_minor), 0)::bigint, coalesce(sum(m.net_loss_minor), 0)::bigint
  FROM bounds b
  LEFT JOIN movements m ON m.created_at >= b.period_start
  GROUP BY b.period, b.period_start
$$;

-- Sets the player's totals to the ledger sums of the periods that contain
-- p_now, replacing any rows left from an earlier limit. Callers hold the
-- player row lock, so no operation of the player commits in between.
CREATE FUNCTION wallet_start_period_totals(p_player_id text, p_now timestamptz) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO player_period_totals (player_id, period, period_start, deposit_minor, net_loss_minor)
  SELECT p_player_id, period, period_start, deposit_minor, net_loss_minor
  FROM wallet_ledger_period_totals(p_player_id, p_now)
  ON CONFLICT (player_id, period) DO UPDATE SET
    period_start = excluded.period_start, deposit_minor = excluded.deposit_minor, net_loss_minor = excluded.net_loss_minor
$$;

-- Same contract as in 005, for players with at least one limit; for any other
-- player it does nothing. PL/pgSQL keeps the plans of both statements, where
-- the SQL function of 005 planned its upsert on every call.
CREATE OR REPLACE FUNCTION wallet_add_to_totals(p_player_id text, p_now timestamptz, p_deposit_minor bigint, p_net_loss_minor bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM player_limits WHERE player_id = p_player_id) THEN
    RETURN;
  END IF;

  INSERT INTO player_period_totals AS totals (player_id, period, period_start, deposit_minor, net_loss_minor)
  SELECT p_player_id, period, (wallet_period_bounds(period, p_now)).period_start, p_deposit_minor, p_net_loss_minor
  FROM unnest(ARRAY['day', 'week', 'month']) AS period
  ON CONFLICT (player_id, period) DO UPDATE SET
    deposit_minor = CASE WHEN excluded.period_start > totals.period_start THEN excluded.deposit_minor
                         ELSE totals.deposit_minor + excluded.deposit_minor END,
    net_loss_minor = CASE WHEN excluded.period_start > totals.period_start THEN excluded.net_loss_minor
                          ELSE totals.net_loss_minor + excluded.net_loss_minor END,
    period_start = greatest(totals.period_start, excluded.period_start);
END
$$;

-- Same contract as in 005. A player without limits has no totals rows, so the
-- update finds none.
CREATE OR REPLACE FUNCTION wallet_refund_to_totals(p_player_id text, p_bet_time timestamptz, p_amount_minor bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE player_period_totals SET net_loss_minor = net_loss_minor - p_amount_minor
  WHERE player_id = p_player_id AND period_start <= p_bet_time;
END
$$;

-- Deposits or net loss of the player in the period that contains p_now: the
-- running total for a player with a limit, the ledger sum for any other.
CREATE OR REPLACE FUNCTION wallet_period_usage(p_player_id text, p_limit_type text, p_period text, p_now timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN EXISTS (SELECT 1 FROM player_limits WHERE player_id = p_player_id) THEN coalesce((
    SELECT CASE p_limit_type WHEN 'deposit' THEN deposit_minor ELSE net_loss_minor END
    FROM player_period_totals
    WHERE player_id = p_player_id AND period = p_period
      AND period_start >= (wallet_period_bounds(p_period, p_now)).period_start), 0)
  ELSE (
    SELECT CASE p_limit_type WHEN 'deposit' THEN deposit_minor ELSE net_loss_minor END
    FROM wallet_ledger_period_totals(p_player_id, p_now) WHERE period = p_period)
  END::bigint
$$;

-- ---------------------------------------------------------------------------
-- Limits

-- Same contract as in 005. PL/pgSQL returns at once for a player without a
-- limit of p_limit_type and keeps the plan of the query, which the SQL
-- function of 005 planned on every bet and deposit.
CREATE OR REPLACE FUNCTION wallet_exceeded_limit(p_player players, p_limit_type text, p_amount_minor bigint, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM player_limits WHERE player_id = p_player.player_id AND currency = p_player.currency
                 AND limit_type = p_limit_type) THEN
    RETURN NULL;
  END IF;

  RETURN (
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
    LIMIT 1);
END
$$;

-- Deletes one limit row, and the player's totals when it was the last limit.
CREATE FUNCTION wallet_delete_limit(p_player_id text, p_currency text, p_limit_type text, p_period text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM player_limits
  WHERE player_id = p_player_id AND currency = p_currency AND limit_type = p_limit_type AND period = p_period;
  IF NOT EXISTS (SELECT 1 FROM player_limits WHERE player_id = p_player_id) THEN
    DELETE FROM player_period_totals WHERE player_id = p_player_id;
  END IF;
END
$$;

-- As in 005, except that an applied removal deletes the totals with the last limit.
CREATE OR REPLACE FUNCTION wallet_apply_due_limits(p_context jsonb, p_player players, p_limit_type text, p_now timestamptz)
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
      PERFORM wallet_delete_limit(v_limit.player_id, v_limit.currency, v_limit.limit_type, v_limit.period);
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

-- As in 005, except that the player's first limit starts the totals from the
-- ledger and a removal of the last limit deletes them.
CREATE OR REPLACE FUNCTION wallet_set_limit(
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
    PERFORM wallet_delete_limit(p_player_id, v_player.currency, p_limit_type, p_period);
  ELSE
    -- Money operations kept no totals while the player had no limit, so
    -- the first one starts them from the ledger before it takes effect.
    IF NOT EXISTS (SELECT 1 FROM player_limits WHERE player_id = p_player_id) THEN
      PERFORM wallet_start_period_totals(p_player_id, v_now);
    END IF;
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
