-- Players, their accounts, the double-entry ledger, idempotency records,
-- game rounds and the transactional outbox of one brand.

CREATE TABLE players (
  player_id          text PRIMARY KEY CHECK (length(player_id) BETWEEN 1 AND 128),
  currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  currency_exponent  smallint NOT NULL CHECK (currency_exponent BETWEEN 0 AND 4),
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
  kyc_status         text NOT NULL DEFAULT 'unverified'
                     CHECK (kyc_status IN ('unverified', 'pending', 'verified', 'rejected')),
  -- +1 on every committed change of any of the player's account balances.
  balance_version    bigint NOT NULL DEFAULT 0 CHECK (balance_version >= 0),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Player accounts keep a running balance because the player row lock already
-- serializes their changes. House accounts have no row here: their balance is
-- the sum of their ledger entries, so no single hot row serializes the brand.
CREATE TABLE player_accounts (
  player_id      text NOT NULL REFERENCES players (player_id),
  kind           text NOT NULL CHECK (kind IN ('cash', 'bonus', 'withdrawal_hold')),
  balance_minor  bigint NOT NULL DEFAULT 0 CONSTRAINT player_accounts_balance_non_negative CHECK (balance_minor >= 0),
  version        bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  PRIMARY KEY (player_id, kind)
);

-- One row per external request that changed (or deliberately did not change)
-- the ledger. (source, external_id) is the idempotency key: the provider name
-- and its transaction id, or 'payments' / 'bonus' and a prefixed reference.
CREATE TABLE wallet_transactions (
  transaction_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source                 text NOT NULL,
  external_id            text NOT NULL,
  kind                   text NOT NULL CHECK (kind IN (
                           'bet', 'bet_tombstone', 'win', 'rollback', 'end_round', 'deposit',
                           'withdrawal', 'withdrawal_completion', 'withdrawal_failure', 'bonus')),
  player_id              text NOT NULL REFERENCES players (player_id),
  request_hash           text,
  round_id               text,
  game_id                text,
  amount_minor           bigint NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
  -- How a bet was funded, so that a rollback returns exactly these parts.
  from_cash_minor        bigint NOT NULL DEFAULT 0 CHECK (from_cash_minor >= 0),
  from_bonus_minor       bigint NOT NULL DEFAULT 0 CHECK (from_bonus_minor >= 0),
  rolled_back_by         uuid,
  target_transaction_id  uuid,
  withdrawal_state       text CHECK (withdrawal_state IN ('requested', 'completed', 'failed')),
  response_status        smallint NOT NULL DEFAULT 200,
  response_body          text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT wallet_transactions_idempotency_key UNIQUE (source, external_id)
);

CREATE TABLE game_rounds (
  provider          text NOT NULL,
  round_id          text NOT NULL,
  player_id         text NOT NULL REFERENCES players (player_id),
  game_id           text NOT NULL,
  currency          text NOT NULL,
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ended')),
  active_bet_count  integer NOT NULL DEFAULT 0 CHECK (active_bet_count >= 0),
  win_count         integer NOT NULL DEFAULT 0 CHECK (win_count >= 0),
  total_bet_minor   bigint NOT NULL DEFAULT 0 CHECK (total_bet_minor >= 0),
  total_win_minor   bigint NOT NULL DEFAULT 0 CHECK (total_win_minor >= 0),
  created_at        timestamptz NOT NULL DEFAULT now(),
  ended_at          timestamptz,
  PRIMARY KEY (provider, round_id)
);

-- Signed entries: the change of the account's balance. Every wallet
-- transaction posts transfers of two entries that sum to zero. player_id is
-- NULL exactly for house accounts ('house:game', 'house:payments', 'house:bonus').
CREATE TABLE ledger_entries (
  entry_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id  uuid NOT NULL REFERENCES wallet_transactions (transaction_id),
  player_id       text,
  account         text NOT NULL,
  currency        text NOT NULL,
  amount_minor    bigint NOT NULL CHECK (amount_minor <> 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((player_id IS NULL) = (account LIKE 'house:%'))
);
CREATE INDEX ledger_entries_player_account_idx ON ledger_entries (player_id, account) WHERE player_id IS NOT NULL;

-- Events written in the same transaction as the change they describe. The
-- relay publishes unsent rows and sets sent_at once the broker confirmed them.
CREATE TABLE outbox (
  outbox_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id    uuid NOT NULL,
  event_type  text NOT NULL,
  player_id   text NOT NULL,
  -- Wallet process that wrote the row; its relay publishes it with the exact commit time.
  producer    text NOT NULL,
  envelope    jsonb NOT NULL,
  -- clock_timestamp() so the value is as close to COMMIT as the row can know.
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  sent_at     timestamptz
);
CREATE INDEX outbox_unsent_idx ON outbox (outbox_id) WHERE sent_at IS NULL;
