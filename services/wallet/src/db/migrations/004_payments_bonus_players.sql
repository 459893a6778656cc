-- Payments (deposit, withdrawal request / completion / failure), bonus credits
-- and player changes that publish events.

-- Credits cash from the house payments account. Only active players may deposit.
CREATE FUNCTION wallet_deposit(
  p_context jsonb, p_payment_reference text, p_request_hash text, p_player_id text,
  p_currency text, p_amount_minor bigint, p_method text
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_prior wallet_result;
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

  v_balances := wallet_player_balances(p_player_id);
  v_version := v_player.balance_version + 1;
  v_body := wallet_response_body(v_transaction_id, 'paymentReference', p_payment_reference, v_player,
    v_balances.cash_minor + p_amount_minor, v_balances.bonus_minor, v_version);

  INSERT INTO wallet_transactions (transaction_id, source, external_id, kind, player_id, request_hash, amount_minor, response_body)
  VALUES (v_transaction_id, 'payments', 'deposit:' || p_payment_reference, 'deposit', p_player_id, p_request_hash,
    p_amount_minor, v_body);
  PERFORM wallet_transfer(v_transaction_id, p_player_id, v_player.currency, 'house:payments', 'cash', p_amount_minor);

  v_outbox_ids := ARRAY[
    wallet_balance_changed(p_context, v_player, 'deposit', v_transaction_id, v_version,
      v_balances.cash_minor + p_amount_minor, v_balances.bonus_minor),
    wallet_emit(p_context, p_player_id, 'DepositCompleted', jsonb_build_object(
      'paymentReference', p_payment_reference, 'currency', v_player.currency, 'amountMinor', p_amount_minor,
      'method', p_method))];
  RETURN wallet_applied(v_body, v_outbox_ids);
END
$$;

-- Moves cash into the player's withdrawal hold until the payment provider
-- reports completion or failure. Bonus money is not withdrawable. Suspended
-- and closed players may still withdraw their cash.
CREATE FUNCTION wallet_request_withdrawal(
  p_context jsonb, p_payment_reference text, p_request_hash text, p_player_id text,
  p_currency text, p_amount_minor bigint
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_prior wallet_result;
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

  v_prior := wallet_find_prior('payments', 'withdrawal:' || p_payment_reference, 'withdrawal', p_request_hash);
  IF v_prior.outcome IS NOT NULL THEN
    RETURN v_prior;
  END IF;

  IF p_currency <> v_player.currency THEN
    RETURN wallet_reject('WALLET_ERR_CURRENCY_MISMATCH', jsonb_build_object('currency', p_currency, 'playerCurrency', v_player.currency));
  END IF;

  v_balances := wallet_player_balances(p_player_id);
  IF v_balances.cash_minor < p_amount_minor THEN
    RETURN wallet_reject('WALLET_ERR_INSUFFICIENT_FUNDS',
      wallet_balance_details(v_player, v_balances.cash_minor, v_balances.bonus_minor));
  END IF;

  v_version := v_player.balance_version + 1;
  v_body := wallet_response_body(v_transaction_id, 'paymentReference', p_payment_reference, v_player,
    v_balances.cash_minor - p_amount_minor, v_balances.bonus_minor, v_version);

  INSERT INTO wallet_transactions (transaction_id, source, external_id, kind, player_id, request_hash, amount_minor,
    withdrawal_state, response_body)
  VALUES (v_transaction_id, 'payments', 'withdrawal:' || p_payment_reference, 'withdrawal', p_player_id, p_request_hash,
    p_amount_minor, 'requested', v_body);
  PERFORM wallet_transfer(v_transaction_id, p_player_id, v_player.currency, 'cash', 'withdrawal_hold', p_amount_minor);

  v_outbox_ids := ARRAY[
    wallet_balance_changed(p_context, v_player, 'withdrawal', v_transaction_id, v_version,
      v_balances.cash_minor - p_amount_minor, v_balances.bonus_minor),
    wallet_emit(p_context, p_player_id, 'WithdrawalRequested', jsonb_build_object(
      'paymentReference', p_payment_reference, 'currency', v_player.currency, 'amountMinor', p_amount_minor))];
  RETURN wallet_applied(v_body, v_outbox_ids);
END
$$;

-- Settles a requested withdrawal. p_outcome 'completed' pays the held money
-- out to the house payments account; 'failed' returns it to the player's cash.
CREATE FUNCTION wallet_settle_withdrawal(
  p_context jsonb, p_payment_reference text, p_request_hash text, p_player_id text, p_outcome text, p_reason text
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_prior wallet_result;
  v_withdrawal wallet_transactions;
  v_kind text := CASE p_outcome WHEN 'completed' THEN 'withdrawal_completion' ELSE 'withdrawal_failure' END;
  v_balances record;
  v_cash_minor bigint;
  v_version bigint;
  v_transaction_id uuid := gen_random_uuid();
  v_body text;
  v_outbox_ids bigint[];
BEGIN
  SELECT * INTO v_player FROM players WHERE player_id = p_player_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_PLAYER_NOT_FOUND', jsonb_build_object('playerId', p_player_id));
  END IF;

  v_prior := wallet_find_prior('payments', 'withdrawal-' || p_outcome || ':' || p_payment_reference, v_kind, p_request_hash);
  IF v_prior.outcome IS NOT NULL THEN
    RETURN v_prior;
  END IF;

  SELECT * INTO v_withdrawal FROM wallet_transactions
  WHERE source = 'payments' AND external_id = 'withdrawal:' || p_payment_reference AND player_id = p_player_id;
  IF NOT FOUND THEN
    RETURN wallet_reject('WALLET_ERR_WITHDRAWAL_NOT_FOUND', jsonb_build_object('paymentReference', p_payment_reference));
  END IF;
  IF v_withdrawal.withdrawal_state <> 'requested' THEN
    RETURN wallet_reject('WALLET_ERR_WITHDRAWAL_SETTLED',
      jsonb_build_object('paymentReference', p_payment_reference, 'withdrawalStatus', v_withdrawal.withdrawal_state));
  END IF;

  v_balances := wallet_player_balances(p_player_id);
  v_cash_minor := v_balances.cash_minor + CASE WHEN p_outcome = 'failed' THEN v_withdrawal.amount_minor ELSE 0 END;
  v_version := v_player.balance_version + 1;
  v_body := wallet_response_body(v_transaction_id, 'paymentReference', p_payment_reference, v_player,
    v_cash_minor, v_balances.bonus_minor, v_version);

  INSERT INTO wallet_transactions (transaction_id, source, external_id, kind, player_id, request_hash, amount_minor,
    target_transaction_id, response_body)
  VALUES (v_transaction_id, 'payments', 'withdrawal-' || p_outcome || ':' || p_payment_reference, v_kind, p_player_id,
    p_request_hash, v_withdrawal.amount_minor, v_withdrawal.transaction_id, v_body);
  PERFORM wallet_transfer(v_transaction_id, p_player_id, v_player.currency, 'withdrawal_hold',
    CASE WHEN p_outcome = 'completed' THEN 'house:payments' ELSE 'cash' END, v_withdrawal.amount_minor);
  UPDATE wallet_transactions SET withdrawal_state = p_outcome WHERE transaction_id = v_withdrawal.transaction_id;

  v_outbox_ids := ARRAY[wallet_balance_changed(p_context, v_player,
    CASE WHEN p_outcome = 'completed' THEN 'withdrawal' ELSE 'withdrawal_failed' END,
    v_transaction_id, v_version, v_cash_minor, v_balances.bonus_minor)];
  IF p_outcome = 'completed' THEN
    v_outbox_ids := v_outbox_ids || wallet_emit(p_context, p_player_id, 'WithdrawalCompleted', jsonb_build_object(
      'paymentReference', p_payment_reference, 'currency', v_player.currency, 'amountMinor', v_withdrawal.amount_minor));
  ELSE
    v_outbox_ids := v_outbox_ids || wallet_emit(p_context, p_player_id, 'WithdrawalFailed', jsonb_build_object(
      'paymentReference', p_payment_reference, 'currency', v_player.currency, 'amountMinor', v_withdrawal.amount_minor,
      'reason', p_reason));
  END IF;
  RETURN wallet_applied(v_body, v_outbox_ids);
END
$$;

-- Credits the bonus balance from the house bonus account. Only active players receive bonuses.
CREATE FUNCTION wallet_credit_bonus(
  p_context jsonb, p_bonus_reference text, p_request_hash text, p_player_id text, p_currency text, p_amount_minor bigint
) RETURNS wallet_result
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
  v_prior wallet_result;
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

-- Changes the KYC status and writes KycStatusChanged when it differs.
-- Returns no row for an unknown player.
CREATE FUNCTION wallet_set_kyc_status(p_context jsonb, p_player_id text, p_kyc_status text)
RETURNS TABLE (previous_status text, outbox_ids bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  v_player players;
BEGIN
  SELECT * INTO v_player FROM players WHERE player_id = p_player_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v_player.kyc_status = p_kyc_status THEN
    RETURN QUERY SELECT v_player.kyc_status, '{}'::bigint[];
    RETURN;
  END IF;

  UPDATE players SET kyc_status = p_kyc_status, updated_at = now() WHERE player_id = p_player_id;
  RETURN QUERY SELECT v_player.kyc_status, ARRAY[wallet_emit(p_context, p_player_id, 'KycStatusChanged',
    jsonb_build_object('previousStatus', v_player.kyc_status, 'status', p_kyc_status))];
END
$$;
