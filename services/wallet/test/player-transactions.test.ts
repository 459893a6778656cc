import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { aBet, aPlayer, aRollback, aWin, uniqueId } from './support/builders.js';
import { createTestDatabase } from './support/database.js';
import { errorCode, licenseeCall, paymentCall, PROVIDER, providerCall, startTestWallet, type TestWallet } from './support/wallet.js';

describe('player transaction list', () => {
  let wallet: TestWallet;
  let dropDatabase: () => Promise<void>;

  before(async () => {
    const database = await createTestDatabase(infraSettings().pgUrl);
    dropDatabase = database.drop;
    wallet = await startTestWallet({ databaseUrl: database.url, brand: uniqueBrand('wallet') });
  });

  after(async () => {
    await wallet.close();
    await dropDatabase();
  });

  it('lists every kind newest first', async () => {
    const playerId = await aPlayer(wallet.app);
    const depositReference = uniqueId('dep:with-colon');
    await paymentCall(wallet.app, 'deposit-completed', { paymentReference: depositReference, playerId, amount: '20.00', currency: 'EUR', method: 'card' });
    const bonusReference = uniqueId('bonus');
    await licenseeCall(wallet.app, 'POST', `/v1/players/${playerId}/bonus-credits`, { bonusReference, amount: '1.00', currency: 'EUR' });
    const bet = aBet(playerId, { amount: '3.00' });
    const betResponse = await providerCall(wallet.app, 'bet', bet);
    const win = aWin(bet, { amount: '5.00', betTransactionId: bet.transactionId });
    await providerCall(wallet.app, 'win', win);
    const lostBet = aBet(playerId, { amount: '2.00' });
    const lostBetResponse = await providerCall(wallet.app, 'bet', lostBet);
    await providerCall(wallet.app, 'rollback', aRollback(lostBet));
    await providerCall(wallet.app, 'rollback', aRollback(aBet(playerId)));
    await providerCall(wallet.app, 'end-round', { playerId, transactionId: uniqueId('end'), roundId: bet.roundId, gameId: bet.gameId });
    const withdrawalReference = uniqueId('wd');
    await paymentCall(wallet.app, 'withdrawal-requested', { paymentReference: withdrawalReference, playerId, amount: '4.00', currency: 'EUR' });
    await paymentCall(wallet.app, 'withdrawal-failed', { paymentReference: withdrawalReference, playerId, reason: 'bank rejected' });

    const response = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/transactions`);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.playerId, playerId);
    const listed = body.transactions as Record<string, unknown>[];
    assert.deepEqual(
      listed.map((transaction) => `${transaction.type}:${transaction.amountMinor}:${transaction.balanceAfterMinor}`),
      [
        'withdrawal_failed:400:2300',
        'withdrawal_requested:400:1900',
        'end_round:0:2300',
        'rollback:0:2300',
        'rollback:200:2300',
        'bet:200:2100',
        'win:500:2300',
        'bet:300:1800',
        'bonus:100:2100',
        'deposit:2000:2000',
      ],
      'newest first with the balance after each; the unknown-bet tombstone is left out',
    );

    const betListed = listed[7];
    assert.deepEqual(betListed, {
      transactionId: betResponse.json().transactionId,
      type: 'bet',
      reference: bet.transactionId,
      amountMinor: 300,
      currency: 'EUR',
      balanceAfterMinor: 1800,
      cashAfterMinor: 1700,
      bonusAfterMinor: 100,
      balanceVersion: 3,
      committedAt: betListed?.committedAt,
      provider: PROVIDER,
      roundId: bet.roundId,
      gameId: bet.gameId,
      targetTransactionId: null,
    });
    assert.ok(!Number.isNaN(Date.parse(String(betListed?.committedAt))), 'committedAt is a timestamp');
    assert.equal(listed[4]?.targetTransactionId, lostBetResponse.json().transactionId, 'the rollback names its bet');
    assert.equal(listed[9]?.reference, depositReference, 'payment reference without the key prefix');
    assert.equal(listed[9]?.provider, null, 'payments have no provider');
    assert.equal(listed[8]?.reference, bonusReference);
    assert.deepEqual(
      listed.map((transaction) => transaction.balanceVersion),
      [8, 7, 6, 6, 6, 5, 4, 3, 2, 1],
      'versions follow the balance changes',
    );
  });

  it('limit caps the list', async () => {
    const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
    for (let index = 0; index < 3; index += 1) await providerCall(wallet.app, 'bet', aBet(playerId));
    const response = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/transactions?limit=2`);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(
      response.json().transactions.map((transaction: { balanceVersion: number }) => transaction.balanceVersion),
      [4, 3],
    );
  });

  it('limit out of range is rejected', async () => {
    const playerId = await aPlayer(wallet.app);
    for (const limit of ['0', '501', 'ten', '-1']) {
      const response = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/transactions?limit=${limit}`);
      assert.equal(response.statusCode, 400, `limit=${limit}`);
      assert.equal(errorCode(response), 'WALLET_ERR_VALIDATION', `limit=${limit}`);
    }
  });

  it('unknown player is 404', async () => {
    const response = await licenseeCall(wallet.app, 'GET', '/v1/players/ghost/transactions');
    assert.equal(response.statusCode, 404);
    assert.equal(errorCode(response), 'WALLET_ERR_PLAYER_NOT_FOUND');
  });

  it('list needs the API key', async () => {
    const response = await wallet.app.inject({ method: 'GET', url: '/v1/players/ghost/transactions' });
    assert.equal(response.statusCode, 401);
    assert.equal(errorCode(response), 'WALLET_ERR_API_KEY_MISSING');
  });
});
