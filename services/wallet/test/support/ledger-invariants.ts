import assert from 'node:assert/strict';
import type pg from 'pg';

/**
 * Checks the ledger invariants of the whole database. Every transaction's
 * entries sum to zero. Every player account balance equals the sum of its
 * entries and is not negative. Each player's balance version equals the
 * number of BalanceChanged events written for that player.
 */
export async function assertLedgerInvariants(pool: pg.Pool): Promise<void> {
  const unbalanced = await pool.query(
    'SELECT transaction_id, sum(amount_minor) AS total FROM ledger_entries GROUP BY transaction_id HAVING sum(amount_minor) <> 0',
  );
  assert.equal(unbalanced.rowCount, 0, `transactions whose entries do not sum to zero: ${JSON.stringify(unbalanced.rows)}`);

  const drifted = await pool.query(`
    SELECT a.player_id, a.kind, a.balance_minor, coalesce(e.total, 0) AS entries_total
    FROM player_accounts a
    LEFT JOIN (SELECT player_id, account, sum(amount_minor) AS total FROM ledger_entries
               WHERE player_id IS NOT NULL GROUP BY player_id, account) e
      ON e.player_id = a.player_id AND e.account = a.kind
    WHERE a.balance_minor <> coalesce(e.total, 0)`);
  assert.equal(drifted.rowCount, 0, `accounts whose balance differs from their entries: ${JSON.stringify(drifted.rows)}`);

  const negative = await pool.query('SELECT player_id, kind, balance_minor FROM player_accounts WHERE balance_minor < 0');
  assert.equal(negative.rowCount, 0, `negative balances: ${JSON.stringify(negative.rows)}`);

  const versionGaps = await pool.query(`
    SELECT p.player_id, p.balance_version, count(o.outbox_id) AS balance_events
    FROM players p LEFT JOIN outbox o ON o.player_id = p.player_id AND o.event_type = 'BalanceChanged'
    GROUP BY p.player_id, p.balance_version
    HAVING p.balance_version <> count(o.outbox_id)`);
  assert.equal(versionGaps.rowCount, 0, `balance versions that differ from the BalanceChanged count: ${JSON.stringify(versionGaps.rows)}`);
}
