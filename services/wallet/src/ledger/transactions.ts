import { query } from '../db/query.js';
import { getPlayer } from './players.js';
import type { LedgerStore } from './store.js';

export type TransactionType =
  | 'bet'
  | 'win'
  | 'rollback'
  | 'end_round'
  | 'deposit'
  | 'withdrawal_requested'
  | 'withdrawal_completed'
  | 'withdrawal_failed'
  | 'bonus';

/** One committed wallet transaction of a player, as the back office lists it. */
export interface ListedTransaction {
  transactionId: string;
  type: TransactionType;
  /** The provider's transaction id, the payment reference or the bonus reference. */
  reference: string;
  amountMinor: number;
  currency: string;
  balanceAfterMinor: number;
  cashAfterMinor: number;
  bonusAfterMinor: number;
  balanceVersion: number;
  committedAt: string;
  /** Game provider of bets, wins, rollbacks and end-round; null otherwise. */
  provider: string | null;
  roundId: string | null;
  gameId: string | null;
  /** The bet a win or rollback targets, or the withdrawal a completion or failure settles. */
  targetTransactionId: string | null;
}

const TYPE_OF_KIND: Readonly<Record<string, TransactionType>> = {
  bet: 'bet',
  win: 'win',
  rollback: 'rollback',
  end_round: 'end_round',
  deposit: 'deposit',
  withdrawal: 'withdrawal_requested',
  withdrawal_completion: 'withdrawal_completed',
  withdrawal_failure: 'withdrawal_failed',
  bonus: 'bonus',
};

const GAME_TYPES: ReadonlySet<TransactionType> = new Set(['bet', 'win', 'rollback', 'end_round']);
const PAYMENT_TYPES: ReadonlySet<TransactionType> = new Set([
  'deposit',
  'withdrawal_requested',
  'withdrawal_completed',
  'withdrawal_failed',
]);

interface TransactionRow {
  transaction_id: string;
  kind: string;
  source: string;
  external_id: string;
  round_id: string | null;
  game_id: string | null;
  amount_minor: string;
  currency: string;
  balance_after_minor: string;
  cash_after_minor: string;
  bonus_after_minor: string;
  balance_version: string;
  target_transaction_id: string | null;
  created_at: Date;
}

/**
 * Lists the player's newest transactions, newest first, in the order they
 * held the player row lock. The balances after each come from the response
 * stored with it. Tombstones of unknown rolled-back bets are left out: they
 * moved no money and the rollback that wrote them is listed.
 */
export async function listTransactions(store: LedgerStore, playerId: string, limit: number): Promise<ListedTransaction[]> {
  await getPlayer(store, playerId);
  const rows = await query<TransactionRow>(
    store,
    `SELECT t.transaction_id, t.kind, t.source, t.external_id, t.round_id, t.game_id, t.amount_minor, p.currency,
            round((body->>'balance')::numeric * 10::numeric ^ p.currency_exponent) AS balance_after_minor,
            round((body->>'cash')::numeric * 10::numeric ^ p.currency_exponent) AS cash_after_minor,
            round((body->>'bonus')::numeric * 10::numeric ^ p.currency_exponent) AS bonus_after_minor,
            body->>'balanceVersion' AS balance_version, t.target_transaction_id, t.created_at
     FROM wallet_transactions t
     JOIN players p ON p.player_id = t.player_id
     CROSS JOIN LATERAL (SELECT t.response_body::jsonb AS body) AS stored
     WHERE t.player_id = $1 AND t.kind <> 'bet_tombstone'
     ORDER BY t.sequence DESC
     LIMIT $2`,
    [playerId, limit],
  );
  return rows.map(toListedTransaction);
}

function toListedTransaction(row: TransactionRow): ListedTransaction {
  const type = TYPE_OF_KIND[row.kind];
  if (type === undefined) throw new Error(`wallet transaction ${row.transaction_id} has unknown kind ${row.kind}`);
  const isGame = GAME_TYPES.has(type);
  return {
    transactionId: row.transaction_id,
    type,
    reference: PAYMENT_TYPES.has(type) ? paymentReference(row.external_id) : row.external_id,
    amountMinor: Number(row.amount_minor),
    currency: row.currency,
    balanceAfterMinor: Number(row.balance_after_minor),
    cashAfterMinor: Number(row.cash_after_minor),
    bonusAfterMinor: Number(row.bonus_after_minor),
    balanceVersion: Number(row.balance_version),
    committedAt: row.created_at.toISOString(),
    provider: isGame ? row.source : null,
    roundId: row.round_id,
    gameId: row.game_id,
    targetTransactionId: row.target_transaction_id,
  };
}

/** Payment idempotency keys are "<operation>:<payment reference>"; the reference may itself contain ':'. */
function paymentReference(externalId: string): string {
  return externalId.slice(externalId.indexOf(':') + 1);
}
