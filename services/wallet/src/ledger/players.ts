import type { BalanceSnapshot, KycStatus } from '@croupier/shared';
import { walletError } from '../errors.js';
import { query } from '../db/query.js';
import { requireCurrencyExponent } from './amount.js';
import type { LedgerStore } from './store.js';

export type PlayerStatus = 'active' | 'suspended' | 'closed';

export interface Player {
  playerId: string;
  currency: string;
  status: PlayerStatus;
  kycStatus: KycStatus;
  balanceVersion: number;
  createdAt: string;
}

interface PlayerRow {
  player_id: string;
  currency: string;
  status: PlayerStatus;
  kyc_status: KycStatus;
  balance_version: string;
  created_at: Date;
}

const PLAYER_COLUMNS = 'player_id, currency, status, kyc_status, balance_version, created_at';

function toPlayer(row: PlayerRow): Player {
  return {
    playerId: row.player_id,
    currency: row.currency,
    status: row.status,
    kycStatus: row.kyc_status,
    balanceVersion: Number(row.balance_version),
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * Creates a player with empty cash, bonus and withdrawal-hold accounts.
 * Creating an existing player again with the same currency returns it
 * (created: false), so a licensee may retry; another currency is a conflict.
 */
export async function createPlayer(
  store: LedgerStore,
  playerId: string,
  currency: string,
): Promise<{ player: Player; created: boolean }> {
  const exponent = requireCurrencyExponent(currency);
  const inserted = await query<PlayerRow>(
    store,
    `WITH player AS (
       INSERT INTO players (player_id, currency, currency_exponent) VALUES ($1, $2, $3)
       ON CONFLICT (player_id) DO NOTHING RETURNING ${PLAYER_COLUMNS}
     ), accounts AS (
       INSERT INTO player_accounts (player_id, kind)
       SELECT player.player_id, kind FROM player, unnest(ARRAY['cash', 'bonus', 'withdrawal_hold']) AS kind
     )
     SELECT * FROM player`,
    [playerId, currency, exponent],
  );
  if (inserted[0] !== undefined) return { player: toPlayer(inserted[0]), created: true };

  const existing = await getPlayer(store, playerId);
  if (existing.currency !== currency) {
    throw walletError('WALLET_ERR_PLAYER_EXISTS', { playerId, currency: existing.currency });
  }
  return { player: existing, created: false };
}

export async function getPlayer(store: LedgerStore, playerId: string): Promise<Player> {
  const rows = await query<PlayerRow>(store, `SELECT ${PLAYER_COLUMNS} FROM players WHERE player_id = $1`, [playerId]);
  if (rows[0] === undefined) throw walletError('WALLET_ERR_PLAYER_NOT_FOUND', { playerId });
  return toPlayer(rows[0]);
}

/** Sets active, suspended or closed. Suspended and closed players cannot bet, deposit or receive bonuses. */
export async function setPlayerStatus(store: LedgerStore, playerId: string, status: PlayerStatus): Promise<Player> {
  const rows = await query<PlayerRow>(
    store,
    `UPDATE players SET status = $2, updated_at = now() WHERE player_id = $1 RETURNING ${PLAYER_COLUMNS}`,
    [playerId, status],
  );
  if (rows[0] === undefined) throw walletError('WALLET_ERR_PLAYER_NOT_FOUND', { playerId });
  return toPlayer(rows[0]);
}

/** Sets the KYC status; a change writes KycStatusChanged to the outbox in the same transaction. */
export async function setKycStatus(
  store: LedgerStore,
  playerId: string,
  kycStatus: KycStatus,
  traceparent: string,
  /** Called after a commit that wrote events; KYC changes are rare, so the relay's drain publishes them. */
  onCommitted: () => void,
): Promise<{ player: Player; previousKycStatus: KycStatus }> {
  const rows = await query<{ previous_status: KycStatus; outbox_ids: string[] }>(
    store,
    'SELECT * FROM wallet_set_kyc_status($1, $2, $3)',
    [store.eventContext(traceparent), playerId, kycStatus],
  );
  if (rows[0] === undefined) throw walletError('WALLET_ERR_PLAYER_NOT_FOUND', { playerId });
  if (rows[0].outbox_ids.length > 0) onCommitted();
  return { player: await getPlayer(store, playerId), previousKycStatus: rows[0].previous_status };
}

interface BalanceRow {
  player_id: string;
  currency: string;
  currency_exponent: number;
  cash_minor: string;
  bonus_minor: string;
  balance_version: string;
  taken_at: Date;
}

export interface PlayerBalance extends BalanceSnapshot {
  currencyExponent: number;
}

/** Reads cash, bonus and version in one statement, so they belong to one committed state. */
export async function readBalance(store: LedgerStore, playerId: string): Promise<PlayerBalance> {
  const rows = await query<BalanceRow>(
    store,
    `SELECT p.player_id, p.currency, p.currency_exponent, b.cash_minor, b.bonus_minor, p.balance_version,
            clock_timestamp() AS taken_at
     FROM players p CROSS JOIN LATERAL wallet_player_balances(p.player_id) b
     WHERE p.player_id = $1`,
    [playerId],
  );
  const row = rows[0];
  if (row === undefined) throw walletError('WALLET_ERR_PLAYER_NOT_FOUND', { playerId });
  return {
    playerId: row.player_id,
    currency: row.currency,
    currencyExponent: row.currency_exponent,
    cashMinor: Number(row.cash_minor),
    bonusMinor: Number(row.bonus_minor),
    balanceVersion: Number(row.balance_version),
    takenAt: row.taken_at.toISOString(),
  };
}
