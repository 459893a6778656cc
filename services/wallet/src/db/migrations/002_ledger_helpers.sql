-- Helpers shared by the money operations. Every money operation is one
-- PL/pgSQL function call, so a provider callback costs one database round trip.

-- outcome: 'applied' (committed a change), 'replayed' (stored response of an
-- earlier request with the same key) or 'rejected' (nothing changed;
-- error_code names an entry of the wallet's error registry).
CREATE TYPE wallet_result AS (
  outcome        text,
  status_code    integer,
  body           text,
  error_code     text,
  error_details  jsonb,
  outbox_ids     bigint[],
  -- The outbox rows written by this call, [{outboxId, eventId, type, envelope}],
  -- so the wallet publishes them straight after COMMIT without reading them back.
  events         jsonb
);

CREATE FUNCTION wallet_reject(p_code text, p_details jsonb) RETURNS wallet_result
LANGUAGE sql IMMUTABLE AS $$
  SELECT ROW('rejected', NULL, NULL, p_code, p_details, '{}'::bigint[], NULL)::wallet_result
$$;

-- Volatile on purpose: it reads outbox rows inserted earlier in this transaction,
-- which a STABLE function running on the caller's snapshot would not see.
CREATE FUNCTION wallet_applied(p_body text, p_outbox_ids bigint[]) RETURNS wallet_result
LANGUAGE sql VOLATILE AS $$
  SELECT ROW('applied', 200, p_body, NULL, NULL, p_outbox_ids, (
    SELECT jsonb_agg(jsonb_build_object(
      'outboxId', outbox_id::text, 'eventId', event_id, 'type', event_type, 'envelope', envelope) ORDER BY outbox_id)
    FROM outbox WHERE outbox_id = ANY(p_outbox_ids)))::wallet_result
$$;

-- Formats minor units as a decimal string with exactly p_exponent decimals,
-- the same text as formatMinor in @croupier/shared.
CREATE FUNCTION wallet_format_minor(p_amount_minor bigint, p_exponent integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT round(p_amount_minor::numeric / (10::numeric ^ p_exponent), p_exponent)::text
$$;

CREATE FUNCTION wallet_balance_details(p_player players, p_cash_minor bigint, p_bonus_minor bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'currency', p_player.currency,
    'balance', wallet_format_minor(p_cash_minor + p_bonus_minor, p_player.currency_exponent),
    'cash', wallet_format_minor(p_cash_minor, p_player.currency_exponent),
    'bonus', wallet_format_minor(p_bonus_minor, p_player.currency_exponent),
    'balanceVersion', p_player.balance_version)
$$;

-- Builds the response body stored for replays. The text is built by hand so
-- that the key order and spacing are fixed: a replay returns these bytes.
CREATE FUNCTION wallet_response_body(
  p_transaction_id uuid, p_reference_name text, p_reference text, p_player players,
  p_cash_minor bigint, p_bonus_minor bigint, p_balance_version bigint
) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format(
    '{"transactionId":"%s",%s:%s,"playerId":%s,"currency":"%s","balance":"%s","cash":"%s","bonus":"%s","balanceVersion":%s}',
    p_transaction_id, to_json(p_reference_name), to_json(p_reference), to_json(p_player.player_id), p_player.currency,
    wallet_format_minor(p_cash_minor + p_bonus_minor, p_player.currency_exponent),
    wallet_format_minor(p_cash_minor, p_player.currency_exponent),
    wallet_format_minor(p_bonus_minor, p_player.currency_exponent),
    p_balance_version)
$$;

-- p_context: {"brand", "producer", "traceparent", "schemaVersion"} from the wallet process.
CREATE FUNCTION wallet_emit(p_context jsonb, p_player_id text, p_type text, p_data jsonb) RETURNS bigint
LANGUAGE sql AS $$
  INSERT INTO outbox (event_id, event_type, player_id, producer, envelope)
  SELECT event.id, p_type, p_player_id, p_context->>'producer', jsonb_build_object(
    'id', event.id,
    'type', p_type,
    'schemaVersion', p_context->'schemaVersion',
    'brand', p_context->>'brand',
    'playerId', p_player_id,
    'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'traceparent', p_context->>'traceparent',
    'data', p_data)
  FROM (SELECT gen_random_uuid() AS id) AS event
  RETURNING outbox_id
$$;

-- Returns the existing result for an idempotency key, or a NULL outcome when
-- the key is new. Callers hold the player row lock, so a concurrent request
-- with the same key has committed or rolled back by now.
CREATE FUNCTION wallet_find_prior(p_source text, p_external_id text, p_kind text, p_request_hash text) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_prior wallet_transactions;
BEGIN
  SELECT * INTO v_prior FROM wallet_transactions WHERE source = p_source AND external_id = p_external_id;
  IF NOT FOUND THEN
    RETURN ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL)::wallet_result;
  END IF;

  IF v_prior.kind = 'bet_tombstone' AND p_kind = 'bet' THEN
    RETURN wallet_reject('WALLET_ERR_BET_ROLLED_BACK', jsonb_build_object('transactionId', p_external_id));
  END IF;
  IF v_prior.kind = p_kind AND v_prior.request_hash = p_request_hash THEN
    RETURN ROW('replayed', v_prior.response_status, v_prior.response_body, NULL, NULL, '{}'::bigint[], NULL)::wallet_result;
  END IF;
  RETURN wallet_reject('WALLET_ERR_DUPLICATE_TRANSACTION', jsonb_build_object('transactionId', p_external_id));
END
$$;

-- Posts one transfer: two ledger entries that sum to zero, and the running
-- balance of each player account involved. House accounts get entries only.
CREATE FUNCTION wallet_transfer(
  p_transaction_id uuid, p_player_id text, p_currency text, p_from text, p_to text, p_amount_minor bigint
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF p_amount_minor = 0 THEN
    RETURN;
  END IF;

  IF p_from NOT LIKE 'house:%' THEN
    UPDATE player_accounts SET balance_minor = balance_minor - p_amount_minor, version = version + 1
    WHERE player_id = p_player_id AND kind = p_from;
  END IF;
  IF p_to NOT LIKE 'house:%' THEN
    UPDATE player_accounts SET balance_minor = balance_minor + p_amount_minor, version = version + 1
    WHERE player_id = p_player_id AND kind = p_to;
  END IF;

  INSERT INTO ledger_entries (transaction_id, player_id, account, currency, amount_minor) VALUES
    (p_transaction_id, CASE WHEN p_from LIKE 'house:%' THEN NULL ELSE p_player_id END, p_from, p_currency, -p_amount_minor),
    (p_transaction_id, CASE WHEN p_to LIKE 'house:%' THEN NULL ELSE p_player_id END, p_to, p_currency, p_amount_minor);
END
$$;

-- Sets the player's balance version and writes the BalanceChanged event.
-- Callers pass the balances after the change, which they computed already.
CREATE FUNCTION wallet_balance_changed(
  p_context jsonb, p_player players, p_reason text, p_transaction_id uuid,
  p_balance_version bigint, p_cash_minor bigint, p_bonus_minor bigint
) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE players SET balance_version = p_balance_version, updated_at = now() WHERE player_id = p_player.player_id;
  RETURN wallet_emit(p_context, p_player.player_id, 'BalanceChanged', jsonb_build_object(
    'currency', p_player.currency,
    'cashMinor', p_cash_minor,
    'bonusMinor', p_bonus_minor,
    'balanceVersion', p_balance_version,
    'reason', p_reason,
    'transactionId', p_transaction_id));
END
$$;

CREATE FUNCTION wallet_player_balances(p_player_id text, OUT cash_minor bigint, OUT bonus_minor bigint)
LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(balance_minor) FILTER (WHERE kind = 'cash'), 0)::bigint,
         coalesce(sum(balance_minor) FILTER (WHERE kind = 'bonus'), 0)::bigint
  FROM player_accounts WHERE player_id = p_player_id AND kind IN ('cash', 'bonus')
$$;
