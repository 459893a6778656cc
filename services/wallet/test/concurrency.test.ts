import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { aBet, aPlayer, aRollback, aWin } from './support/builders.js';
import { createTestDatabase } from './support/database.js';
import { assertLedgerInvariants } from './support/ledger-invariants.js';
import { errorCode, providerCall, startTestWallet, type TestWallet } from './support/wallet.js';

describe('concurrency', () => {
  let databaseUrl: string;
  let dropDatabase: () => Promise<void>;
  let wallet: TestWallet;

  before(async () => {
    const database = await createTestDatabase(infraSettings().pgUrl);
    databaseUrl = database.url;
    dropDatabase = database.drop;
    wallet = await startTestWallet({ databaseUrl, brand: uniqueBrand('wallet'), poolSize: 10 });
  });

  after(async () => {
    await wallet.close();
    await dropDatabase();
  });

  it('50 parallel bets on a balance for 20: exactly 20 succeed', async () => {
    const playerId = await aPlayer(wallet.app, { deposit: '20.00' });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => providerCall(wallet.app, 'bet', aBet(playerId, { amount: '1.00' }))),
    );

    const succeeded = responses.filter((response) => response.statusCode === 200);
    const rejected = responses.filter((response) => errorCode(response) === 'WALLET_ERR_INSUFFICIENT_FUNDS');
    assert.equal(succeeded.length, 20, 'bets that succeeded');
    assert.equal(rejected.length, 30, 'bets rejected for insufficient funds');
    const balance = await providerCall(wallet.app, 'balance', { playerId });
    assert.equal(balance.json().balance, '0.00', 'balance is used up exactly');
    assert.equal(balance.json().balanceVersion, 21, 'one version for the deposit and one per successful bet');
    const versions = succeeded.map((response) => response.json().balanceVersion as number).sort((a, b) => a - b);
    assert.deepEqual(versions, Array.from({ length: 20 }, (_, index) => index + 2), 'each bet got its own version');
    await assertLedgerInvariants(wallet.pool);
  });

  it('concurrent identical bets take effect once', async () => {
    const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
    const bet = aBet(playerId, { amount: '3.00' });
    const responses = await Promise.all(Array.from({ length: 20 }, () => providerCall(wallet.app, 'bet', bet)));

    assert.ok(responses.every((response) => response.statusCode === 200), 'every copy succeeds');
    assert.equal(new Set(responses.map((response) => response.body)).size, 1, 'every copy returns the same bytes');
    const balance = await providerCall(wallet.app, 'balance', { playerId });
    assert.equal(balance.json().balance, '7.00', 'debited once');
    await assertLedgerInvariants(wallet.pool);
  });

  it('concurrent win and rollback of one bet: exactly one wins', async () => {
    const playerId = await aPlayer(wallet.app, { deposit: '100.00' });
    const outcomes = { win: 0, rollback: 0 };
    for (let round = 0; round < 20; round += 1) {
      const bet = aBet(playerId, { amount: '1.00' });
      assert.equal((await providerCall(wallet.app, 'bet', bet)).statusCode, 200, 'bet placed');
      const [win, rollback] = await Promise.all([
        providerCall(wallet.app, 'win', aWin(bet, { amount: '3.00' })),
        providerCall(wallet.app, 'rollback', aRollback(bet)),
      ]);

      const successes = [win, rollback].filter((response) => response.statusCode === 200).length;
      assert.equal(successes, 1, `exactly one of win and rollback succeeds (round ${round})`);
      if (win.statusCode === 200) {
        outcomes.win += 1;
        assert.equal(errorCode(rollback), 'WALLET_ERR_ROUND_SETTLED', 'rollback after the win is rejected as settled');
      } else {
        outcomes.rollback += 1;
        assert.equal(errorCode(win), 'WALLET_ERR_BET_ROLLED_BACK', 'win after the rollback is rejected');
      }
    }

    const balance = await providerCall(wallet.app, 'balance', { playerId });
    const expectedMinor = 10_000 + outcomes.win * 200;
    assert.equal(balance.json().balance, (expectedMinor / 100).toFixed(2), 'balance matches the winners');
    await assertLedgerInvariants(wallet.pool);
  });

  it('more requests than the pool get 503 and nothing half-applied', async () => {
    const small = await startTestWallet({ databaseUrl, brand: uniqueBrand('wallet'), poolSize: 2, connectionTimeoutMs: 200 });
    const playerId = await aPlayer(small.app, { deposit: '100.00' });

    // Hold the player row, so the two pooled connections block inside their bets
    // and every other request waits for a connection until it times out.
    const blocker = new pg.Client({ connectionString: databaseUrl });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM players WHERE player_id = $1 FOR UPDATE', [playerId]);

    try {
      const pending = Array.from({ length: 30 }, () => providerCall(small.app, 'bet', aBet(playerId, { amount: '1.00' })));
      await new Promise((resolve) => setTimeout(resolve, 600));
      await blocker.query('COMMIT');
      const responses = await Promise.all(pending);

      const succeeded = responses.filter((response) => response.statusCode === 200).length;
      const unavailable = responses.filter((response) => response.statusCode === 503);
      assert.equal(succeeded + unavailable.length, responses.length, 'every response is a success or a 503');
      assert.ok(unavailable.length >= 20, `most requests timed out waiting for a connection (${unavailable.length})`);
      assert.ok(
        unavailable.every((response) => errorCode(response) === 'WALLET_ERR_UNAVAILABLE' && response.headers['retry-after'] === '1'),
        '503s carry their code and Retry-After',
      );
      const balance = await providerCall(small.app, 'balance', { playerId });
      assert.equal(balance.json().balance, (100 - succeeded).toFixed(2), 'only the successful bets were debited');
      assert.equal(balance.json().balanceVersion, 1 + succeeded, 'one version per successful bet');
      await assertLedgerInvariants(small.pool);
    } finally {
      await blocker.end();
      await small.close();
    }
  });
});
