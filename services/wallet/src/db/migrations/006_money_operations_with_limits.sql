-- The money operations of 003 and 004, redefined to enforce exclusions and
-- limits inside their own transaction and to keep the period totals. Each
-- still locks the player row first, so a check and the change it allows are
-- serialized with every other change of that player's money and limits.
--
-- Bets and deposits are rejected while an exclusion is in force; bonus credits
-- too. Wins, rollbacks and end-round never check exclusions or limits, so
-- rounds opened before an exclusion settle. Bets apply due pending loss-limit
-- changes and deposits due pending deposit-limit changes before they check.

CREATE OR REPLACE FUNCTION wallet_bet(
  p_context jsonb, p_provider text, p_external_id text, p_request_hash text, p_player_id text,
  p_round_id text, p_game_id text, p_currency text, p_amount_minor bigint
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_prior wallet_result;
  v_now timestamptz;
  v_exclusion jsonb;
  v_exceeded jsonb;
  v_round game_rounds;
  v_round_found boolean;
  v_balances record;
  v_from_cash_minor bigint;
  v_from_bonus_minor bigint;
  v_version bigint;
  v_transaction_id uuid := gen_random_uuid();
  v_body text;
  v_outbox_ids bigint[];
BEGIN
  SELECT * INTO v_player FROM players WHERE player_id = p_player_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_NOT_FOUND', jsonb_build_object('playerId', p_player_id));
  END IF;

  v_prior := wallet_find_prior(p_provider, p_external_id, 'bet', p_request_hash);
  IF v_prior.outcome IS NOT NULL THEN
    RETURN v_prior;
  END IF;

  IF p_currency <> v_player.currency THEN
    RETURN wallet_reject('WALLET_ERR_CURRENCY_MISMATCH', jsonb_build_object('currency', p_currency, 'playerCurrency', v_player.currency));
  END IF;
  IF v_player.status <> 'active' THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_INACTIVE', jsonb_build_object('playerId', p_player_id, 'status', v_player.status));
  END IF;
  v_now := wallet_now();
  v_exclusion := wallet_exclusion_details(p_player_id, v_now);
  IF v_exclusion IS NOT NULL THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_EXCLUDED', v_exclusion);
  END IF;

  SELECT * INTO v_round FROM game_rounds WHERE provider = p_provider AND round_id = p_round_id;
  v_round_found := FOUND;
  IF v_round_found AND v_round.player_id <> p_player_id THEN
    RETURN wallet_reject('WALLET_ERR_ROUND_PLAYER_MISMATCH', jsonb_build_object('roundId', p_round_id));
  END IF;
  IF v_round_found AND v_round.status <> 'open' THEN
    RETURN wallet_reject('WALLET_ERR_ROUND_CLOSED', jsonb_build_object('roundId', p_round_id));
  END IF;

  -- The stake counts as lost until a win or rollback arrives.
  v_outbox_ids := wallet_apply_due_limits(p_context, v_player, 'loss', v_now);
  v_exceeded := wallet_exceeded_limit(v_player, 'loss', p_amount_minor, v_now);
  IF v_exceeded IS NOT NULL THEN
    RETURN wallet_reject_with_events('WALLET_ERR_LOSS_LIMIT_EXCEEDED', v_exceeded, v_outbox_ids);
  END IF;

  v_balances := wallet_player_balances(p_player_id);
  IF v_balances.cash_minor + v_balances.bonus_minor < p_amount_minor THEN
    RETURN wallet_reject_with_events('WALLET_ERR_INSUFFICIENT_FUNDS',
      wallet_balance_details(v_player, v_balances.cash_minor, v_balances.bonus_minor), v_outbox_ids);
  END IF;

  -- Cash first, then bonus; the split is stored so that a rollback returns exactly these parts.
  v_from_cash_minor := least(v_balances.cash_minor, p_amount_minor);
  v_from_bonus_minor := p_amount_minor - v_from_cash_minor;
  v_version := v_player.balance_version + 1;
  v_body := wallet_response_body(v_transaction_id, 'providerTransactionId', p_external_id, v_player,
    v_balances.cash_minor - v_from_cash_minor, v_balances.bonus_minor - v_from_bonus_minor, v_version);

  -- created_at is the wallet clock, which the rollback compares with period starts.
  INSERT INTO wallet_transactions (transaction_id, source, external_id, kind, player_id, request_hash, round_id, game_id,
    amount_minor, from_cash_minor, from_bonus_minor, response_body, created_at)
  VALUES (v_transaction_id, p_provider, p_external_id, 'bet', p_player_id, p_request_hash, p_round_id, p_game_id,
    p_amount_minor, v_from_cash_minor, v_from_bonus_minor, v_body, v_now);
  PERFORM wallet_transfer(v_transaction_id, p_player_id, v_player.currency, 'cash', 'house:game', v_from_cash_minor);
  PERFORM wallet_transfer(v_transaction_id, p_player_id, v_player.currency, 'bonus', 'house:game', v_from_bonus_minor);
  PERFORM wallet_add_to_totals(p_player_id, v_now, 0, p_amount_minor);

  IF v_round_found THEN
    UPDATE game_rounds SET active_bet_count = active_bet_count + 1, total_bet_minor = total_bet_minor + p_amount_minor
    WHERE provider = p_provider AND round_id = p_round_id;
  ELSE
    INSERT INTO game_rounds (provider, round_id, player_id, game_id, currency, active_bet_count, total_bet_minor)
    VALUES (p_provider, p_round_id, p_player_id, p_game_id, v_player.currency, 1, p_amount_minor);
  END IF;

  v_outbox_ids := v_outbox_ids || ARRAY[
    wallet_balance_changed(p_context, v_player, 'bet', v_transaction_id, v_version,
      v_balances.cash_minor - v_from_cash_minor, v_balances.bonus_minor - v_from_bonus_minor),
    wallet_emit(p_context, p_player_id, 'BetPlaced', jsonb_build_object(
      'provider', p_provider, 'providerTransactionId', p_external_id, 'roundId', p_round_id, 'gameId', p_game_id,
      'currency', v_player.currency, 'amountMinor', p_amount_minor,
      'fromCashMinor', v_from_cash_minor, 'fromBonusMinor', v_from_bonus_minor))];
  RETURN wallet_applied(v_body, v_outbox_ids);
END
$$;

-- p_bet_external_id is optional: when given, the win must belong to that bet,
-- otherwise the round must have at least one bet that was not rolled back.
-- The win lowers the net loss of the periods in which it is paid.
CREATE OR REPLACE FUNCTION wallet_win(
  p_context jsonb, p_provider text, p_external_id text, p_request_hash text, p_player_id text,
  p_round_id text, p_game_id text, p_currency text, p_amount_minor bigint,
  p_bet_external_id text, p_end_round boolean
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_prior wallet_result;
  v_now timestamptz;
  v_round game_rounds;
  v_bet wallet_transactions;
  v_balances record;
  v_version bigint;
  v_transaction_id uuid := gen_random_uuid();
  v_body text;
  v_outbox_ids bigint[];
BEGIN
  SELECT * INTO v_player FROM players WHERE player_id = p_player_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_NOT_FOUND', jsonb_build_object('playerId', p_player_id));
  END IF;

  v_prior := wallet_find_prior(p_provider, p_external_id, 'win', p_request_hash);
  IF v_prior.outcome IS NOT NULL THEN
    RETURN v_prior;
  END IF;

  IF p_currency <> v_player.currency THEN
    RETURN wallet_reject('WALLET_ERR_CURRENCY_MISMATCH', jsonb_build_object('currency', p_currency, 'playerCurrency', v_player.currency));
  END IF;

  SELECT * INTO v_round FROM game_rounds WHERE provider = p_provider AND round_id = p_round_id AND player_id = p_player_id;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_ROUND_NOT_FOUND', jsonb_build_object('roundId', p_round_id));
  END IF;
  IF v_round.status <> 'open' THEN
    RETURN wallet_reject('WALLET_ERR_ROUND_CLOSED', jsonb_build_object('roundId', p_round_id));
  END IF;

  IF p_bet_external_id IS NOT NULL THEN
    SELECT * INTO v_bet FROM wallet_transactions WHERE source = p_provider AND external_id = p_bet_external_id;
    IF NOT FOUND OR v_bet.kind NOT IN ('bet', 'bet_tombstone') OR v_bet.round_id <> p_round_id OR v_bet.player_id <> p_player_id THEN
      RETURN wallet_reject('WALLET_ERR_BET_NOT_FOUND', jsonb_build_object('betTransactionId', p_bet_external_id, 'roundId', p_round_id));
    END IF;
    IF v_bet.kind = 'bet_tombstone' OR v_bet.rolled_back_by IS NOT NULL THEN
      RETURN wallet_reject('WALLET_ERR_BET_ROLLED_BACK', jsonb_build_object('transactionId', p_bet_external_id));
    END IF;
  ELSIF v_round.active_bet_count = 0 THEN
    RETURN wallet_reject('WALLET_ERR_BET_ROLLED_BACK', jsonb_build_object('roundId', p_round_id));
  END IF;

  v_now := wallet_now();
  v_balances := wallet_player_balances(p_player_id);
  v_version := v_player.balance_version + 1;
  v_body := wallet_response_body(v_transaction_id, 'providerTransactionId', p_external_id, v_player,
    v_balances.cash_minor + p_amount_minor, v_balances.bonus_minor, v_version);

  INSERT INTO wallet_transactions (transaction_id, source, external_id, kind, player_id, request_hash, round_id, game_id,
    amount_minor, target_transaction_id, response_body, created_at)
  VALUES (v_transaction_id, p_provider, p_external_id, 'win', p_player_id, p_request_hash, p_round_id, p_game_id,
    p_amount_minor, v_bet.transaction_id, v_body, v_now);
  -- NOTE: wins are paid to cash; bonus wagering rules are not modelled.
  PERFORM wallet_transfer(v_transaction_id, p_player_id, v_player.currency, 'house:game', 'cash', p_amount_minor);
  PERFORM wallet_add_to_totals(p_player_id, v_now, 0, -p_amount_minor);

  UPDATE game_rounds
  SET win_count = win_count + 1, total_win_minor = total_win_minor + p_amount_minor,
      status = CASE WHEN p_end_round THEN 'ended' ELSE status END,
      ended_at = CASE WHEN p_end_round THEN now() ELSE ended_at END
  WHERE provider = p_provider AND round_id = p_round_id
  RETURNING * INTO v_round;

  v_outbox_ids := ARRAY[
    wallet_balance_changed(p_context, v_player, 'win', v_transaction_id, v_version,
      v_balances.cash_minor + p_amount_minor, v_balances.bonus_minor),
    wallet_emit(p_context, p_player_id, 'WinCredited', jsonb_build_object(
      'provider', p_provider, 'providerTransactionId', p_external_id, 'roundId', p_round_id, 'gameId', p_game_id,
      'currency', v_player.currency, 'amountMinor', p_amount_minor))];
  IF p_end_round THEN
    v_outbox_ids := v_outbox_ids || wallet_emit_round_ended(p_context, v_round);
  END IF;
  RETURN wallet_applied(v_body, v_outbox_ids);
END
$$;

-- The refund leaves the net loss of the periods that contain the bet.
CREATE OR REPLACE FUNCTION wallet_rollback_placed_bet(
  p_context jsonb, p_provider text, p_external_id text, p_request_hash text, p_player players,
  p_cash_minor bigint, p_bonus_minor bigint, p_bet wallet_transactions, p_transaction_id uuid
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_version bigint := p_player.balance_version + 1;
  v_cash_minor bigint := p_cash_minor + p_bet.from_cash_minor;
  v_bonus_minor bigint := p_bonus_minor + p_bet.from_bonus_minor;
  v_body text;
  v_outbox_ids bigint[];
BEGIN
  v_body := wallet_response_body(p_transaction_id, 'providerTransactionId', p_external_id, p_player,
    v_cash_minor, v_bonus_minor, v_version);

  INSERT INTO wallet_transactions (transaction_id, source, external_id, kind, player_id, request_hash, round_id, game_id,
    amount_minor, from_cash_minor, from_bonus_minor, target_transaction_id, response_body, created_at)
  VALUES (p_transaction_id, p_provider, p_external_id, 'rollback', p_player.player_id, p_request_hash, p_bet.round_id,
    p_bet.game_id, p_bet.amount_minor, p_bet.from_cash_minor, p_bet.from_bonus_minor, p_bet.transaction_id, v_body,
    wallet_now());
  PERFORM wallet_transfer(p_transaction_id, p_player.player_id, p_player.currency, 'house:game', 'cash', p_bet.from_cash_minor);
  PERFORM wallet_transfer(p_transaction_id, p_player.player_id, p_player.currency, 'house:game', 'bonus', p_bet.from_bonus_minor);
  PERFORM wallet_refund_to_totals(p_player.player_id, p_bet.created_at, p_bet.amount_minor);

  UPDATE wallet_transactions SET rolled_back_by = p_transaction_id WHERE transaction_id = p_bet.transaction_id;
  UPDATE game_rounds
  SET active_bet_count = active_bet_count - 1, total_bet_minor = total_bet_minor - p_bet.amount_minor
  WHERE provider = p_provider AND round_id = p_bet.round_id;

  v_outbox_ids := ARRAY[
    wallet_balance_changed(p_context, p_player, 'rollback', p_transaction_id, v_version, v_cash_minor, v_bonus_minor),
    wallet_emit(p_context, p_player.player_id, 'BetRolledBack', jsonb_build_object(
      'provider', p_provider, 'providerTransactionId', p_external_id, 'rolledBackTransactionId', p_bet.external_id,
      'roundId', p_bet.round_id, 'currency', p_player.currency, 'amountMinor', p_bet.amount_minor, 'tombstone', false))];
  RETURN wallet_applied(v_body, v_outbox_ids);
END
$$;

-- Credits cash from the house payments account. Only active players without
-- an exclusion in force may deposit, and only within their deposit limits.
CREATE OR REPLACE FUNCTION wallet_deposit(
  p_context jsonb, p_payment_reference text, p_request_hash text, p_player_id text,
  p_currency text, p_amount_minor bigint, p_method text
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_prior wallet_result;
  v_now timestamptz;
  v_exclusion jsonb;
  v_exceeded jsonb;
  v_balances record;
  v_version bigint;
  v_transaction_id uuid := gen_random_uuid();
  v_body text;
  v_outbox_ids bigint[];
BEGIN
  SELECT * INTO v_player FROM players WHERE player_id = p_player_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_NOT_FOUND', jsonb_build_object('playerId', p_player_id));
  END IF;

  v_prior := wallet_find_prior('payments', 'deposit:' || p_payment_reference, 'deposit', p_request_hash);
  IF v_prior.outcome IS NOT NULL THEN
    RETURN v_prior;
  END IF;

  IF p_currency <> v_player.currency THEN
    RETURN wallet_reject('WALLET_ERR_CURRENCY_MISMATCH', jsonb_build_object('currency', p_currency, 'playerCurrency', v_player.currency));
  END IF;
  IF v_player.status <> 'active' THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_INACTIVE', jsonb_build_object('playerId', p_player_id, 'status', v_player.status));
  END IF;
  v_now := wallet_now();
  v_exclusion := wallet_exclusion_details(p_player_id, v_now);
  IF v_exclusion IS NOT NULL THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_EXCLUDED', v_exclusion);
  END IF;

  v_outbox_ids := wallet_apply_due_limits(p_context, v_player, 'deposit', v_now);
  v_exceeded := wallet_exceeded_limit(v_player, 'deposit', p_amount_minor, v_now);
  IF v_exceeded IS NOT NULL THEN
    RETURN wallet_reject_with_events('WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED', v_exceeded, v_outbox_ids);
  END IF;

  v_balances := wallet_player_balances(p_player_id);
  v_version := v_player.balance_version + 1;
  v_body := wallet_response_body(v_transaction_id, 'paymentReference', p_payment_reference, v_player,
    v_balances.cash_minor + p_amount_minor, v_balances.bonus_minor, v_version);

  INSERT INTO wallet_transactions (transaction_id, source, external_id, kind, player_id, request_hash, amount_minor,
    response_body, created_at)
  VALUES (v_transaction_id, 'payments', 'deposit:' || p_payment_reference, 'deposit', p_player_id, p_request_hash,
    p_amount_minor, v_body, v_now);
  PERFORM wallet_transfer(v_transaction_id, p_player_id, v_player.currency, 'house:payments', 'cash', p_amount_minor);
  PERFORM wallet_add_to_totals(p_player_id, v_now, p_amount_minor, 0);

  v_outbox_ids := v_outbox_ids || ARRAY[
    wallet_balance_changed(p_context, v_player, 'deposit', v_transaction_id, v_version,
      v_balances.cash_minor + p_amount_minor, v_balances.bonus_minor),
    wallet_emit(p_context, p_player_id, 'DepositCompleted', jsonb_build_object(
      'paymentReference', p_payment_reference, 'currency', v_player.currency, 'amountMinor', p_amount_minor,
      'method', p_method))];
  RETURN wallet_applied(v_body, v_outbox_ids);
END
$$;

-- Credits the bonus balance from the house bonus account. Only active players
-- without an exclusion in force receive bonuses.
CREATE OR REPLACE FUNCTION wallet_credit_bonus(
  p_context jsonb, p_bonus_reference text, p_request_hash text, p_player_id text, p_currency text, p_amount_minor bigint
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_prior wallet_result;
  v_exclusion jsonb;
  v_balances record;
  v_version bigint;
  v_transaction_id uuid := gen_random_uuid();
  v_body text;
  v_outbox_ids bigint[];
BEGIN
  SELECT * INTO v_player FROM players WHERE player_id = p_player_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_NOT_FOUND', jsonb_build_object('playerId', p_player_id));
  END IF;

  v_prior := wallet_find_prior('bonus', p_bonus_reference, 'bonus', p_request_hash);
  IF v_prior.outcome IS NOT NULL THEN
    RETURN v_prior;
  END IF;

  IF p_currency <> v_player.currency THEN
    RETURN wallet_reject('WALLET_ERR_CURRENCY_MISMATCH', jsonb_build_object('currency', p_currency, 'playerCurrency', v_player.currency));
  END IF;
  IF v_player.status <> 'active' THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_INACTIVE', jsonb_build_object('playerId', p_player_id, 'status', v_player.status));
  END IF;
  v_exclusion := wallet_exclusion_details(p_player_id, wallet_now());
  IF v_exclusion IS NOT NULL THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_EXCLUDED', v_exclusion);
  END IF;

  v_balances := wallet_player_balances(p_player_id);
  v_version := v_player.balance_version + 1;
  v_body := wallet_response_body(v_transaction_id, 'bonusReference', p_bonus_reference, v_player,
    v_balances.cash_minor, v_balances.bonus_minor + p_amount_minor, v_version);

  INSERT INTO wallet_transactions (transaction_id, source, external_id, kind, player_id, request_hash, amount_minor, response_body)
  VALUES (v_transaction_id, 'bonus', p_bonus_reference, 'bonus', p_player_id, p_request_hash, p_amount_minor, v_body);
  PERFORM wallet_transfer(v_transaction_id, p_player_id, v_player.currency, 'house:bonus', 'bonus', p_amount_minor);

  v_outbox_ids := ARRAY[
    wallet_balance_changed(p_context, v_player, 'bonus', v_transaction_id, v_version,
      v_balances.cash_minor, v_balances.bonus_minor + p_amount_minor),
    wallet_emit(p_context, p_player_id, 'BonusCredited', jsonb_build_object(
      'bonusReference', p_bonus_reference, 'currency', v_player.currency, 'amountMinor', p_amount_minor))];
  RETURN wallet_applied(v_body, v_outbox_ids);
END
$$;
