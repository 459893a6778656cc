import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatMinor } from '@croupier/shared';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { aBet, aPlayer, aRollback, aWin, uniqueId } from './support/builders.js';
import { createTestDatabase } from './support/database.js';
import { assertLedgerInvariants } from './support/ledger-invariants.js';
import { errorCode, licenseeCall, providerCall, startTestWallet, type TestWallet } from './support/wallet.js';

describe('provider wallet API', () => {
  let wallet: TestWallet;
  let dropDatabase: () => Promise<void>;

  before(async () => {
    const database = await createTestDatabase(infraSettings().pgUrl);
    dropDatabase = database.drop;
    wallet = await startTestWallet({ databaseUrl: database.url, brand: uniqueBrand('wallet') });
  });

  after(async () => {
    await assertLedgerInvariants(wallet.pool);
    await wallet.close();
    await dropDatabase();
  });

  describe('bet and win', () => {
    it('bet debits cash and returns decimal balances', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const response = await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '2.50' }));

      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.equal(body.balance, '7.50', 'balance after the bet');
      assert.equal(body.cash, '7.50', 'cash after the bet');
      assert.equal(body.bonus, '0.00', 'bonus untouched');
      assert.equal(body.balanceVersion, 2, 'deposit and bet each add one version');
    });

    it('win credits cash of an open round', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId, { amount: '1.00' });
      await providerCall(wallet.app, 'bet', bet);
      const response = await providerCall(wallet.app, 'win', aWin(bet, { amount: '5.25' }));

      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().balance, '14.25', 'balance after bet and win');
    });

    it('balance returns cash and bonus separately', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '3.00', bonus: '2.00' });
      const response = await providerCall(wallet.app, 'balance', { playerId, currency: 'EUR' });

      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json(), { playerId, currency: 'EUR', balance: '5.00', cash: '3.00', bonus: '2.00', balanceVersion: 2 });
    });

    it('balance of unknown player is 404', async () => {
      const response = await providerCall(wallet.app, 'balance', { playerId: 'nobody' });
      assert.equal(response.statusCode, 404);
      assert.equal(errorCode(response), 'WALLET_ERR_PLAYER_NOT_FOUND');
    });

    it('bet beyond balance returns insufficient funds with the balance', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '1.00' });
      const response = await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '1.01' }));

      assert.equal(response.statusCode, 402, response.body);
      const error = response.json().error;
      assert.equal(error.code, 'WALLET_ERR_INSUFFICIENT_FUNDS');
      assert.equal(error.balance, '1.00', 'error carries the current balance');
      assert.equal(error.currency, 'EUR', 'error carries the currency');
    });

    it('bet takes cash first then bonus, and rollback returns the exact split', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '3.00', bonus: '5.00' });
      const bet = aBet(playerId, { amount: '4.50' });
      const betResponse = await providerCall(wallet.app, 'bet', bet);
      assert.equal(betResponse.json().cash, '0.00', 'cash is used first');
      assert.equal(betResponse.json().bonus, '3.50', 'the rest comes from bonus');

      const rollback = await providerCall(wallet.app, 'rollback', aRollback(bet));
      assert.equal(rollback.statusCode, 200, rollback.body);
      assert.equal(rollback.json().cash, '3.00', 'cash part returned to cash');
      assert.equal(rollback.json().bonus, '5.00', 'bonus part returned to bonus');
    });

    it('bet with another currency is rejected', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const response = await providerCall(wallet.app, 'bet', aBet(playerId, { currency: 'USD' }));
      assert.equal(response.statusCode, 400);
      assert.equal(errorCode(response), 'WALLET_ERR_CURRENCY_MISMATCH');
    });

    it('suspended player cannot bet', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/status`, { status: 'suspended' });
      const response = await providerCall(wallet.app, 'bet', aBet(playerId));
      assert.equal(response.statusCode, 403);
      assert.equal(errorCode(response), 'WALLET_ERR_PLAYER_INACTIVE');
    });

    it('bet for unknown player is 404', async () => {
      const response = await providerCall(wallet.app, 'bet', aBet('ghost-player'));
      assert.equal(response.statusCode, 404);
      assert.equal(errorCode(response), 'WALLET_ERR_PLAYER_NOT_FOUND');
    });
  });

  describe('idempotency', () => {
    it('replayed bet returns the original bytes once', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId, { amount: '1.00' });
      const first = await providerCall(wallet.app, 'bet', bet);
      const replay = await providerCall(wallet.app, 'bet', bet);

      assert.equal(replay.statusCode, 200);
      assert.equal(replay.body, first.body, 'replay body is byte-for-byte the original');
      assert.equal(replay.headers['idempotent-replayed'], 'true', 'replay is marked');
      const balance = await providerCall(wallet.app, 'balance', { playerId });
      assert.equal(balance.json().balance, '9.00', 'the replay debited nothing');
    });

    it('same amount written differently is a replay', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId, { amount: '1.5' });
      const first = await providerCall(wallet.app, 'bet', bet);
      const replay = await providerCall(wallet.app, 'bet', { ...bet, amount: '1.50' });
      assert.equal(replay.body, first.body, '"1.5" and "1.50" are the same request');
    });

    it('reused transaction id with other content is a duplicate', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId, { amount: '1.00' });
      await providerCall(wallet.app, 'bet', bet);
      const conflicting = await providerCall(wallet.app, 'bet', { ...bet, amount: '2.00' });

      assert.equal(conflicting.statusCode, 409);
      assert.equal(errorCode(conflicting), 'WALLET_ERR_DUPLICATE_TRANSACTION');
    });

    it('win reusing a bet transaction id is a duplicate', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId);
      await providerCall(wallet.app, 'bet', bet);
      const win = await providerCall(wallet.app, 'win', aWin(bet, { transactionId: bet.transactionId }));
      assert.equal(win.statusCode, 409);
      assert.equal(errorCode(win), 'WALLET_ERR_DUPLICATE_TRANSACTION');
    });

    it('replayed win and rollback return original bytes', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId);
      await providerCall(wallet.app, 'bet', bet);
      const win = aWin(bet);
      const firstWin = await providerCall(wallet.app, 'win', win);
      assert.equal((await providerCall(wallet.app, 'win', win)).body, firstWin.body, 'win replay');

      const bet2 = aBet(playerId);
      await providerCall(wallet.app, 'bet', bet2);
      const rollback = aRollback(bet2);
      const firstRollback = await providerCall(wallet.app, 'rollback', rollback);
      assert.equal((await providerCall(wallet.app, 'rollback', rollback)).body, firstRollback.body, 'rollback replay');
    });
  });

  describe('money precision', () => {
    const cases = [
      { currency: 'JPY', deposit: '1000', bet: '150', balance: '850' },
      { currency: 'KWD', deposit: '10.000', bet: '0.125', balance: '9.875' },
      { currency: 'EUR', deposit: '10', bet: '0.01', balance: '9.99' },
    ];
    for (const testCase of cases) {
      it(`${testCase.currency} uses its own decimal places`, async () => {
        const playerId = await aPlayer(wallet.app, { currency: testCase.currency, deposit: testCase.deposit });
        const response = await providerCall(
          wallet.app,
          'bet',
          aBet(playerId, { currency: testCase.currency, amount: testCase.bet }),
        );
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.json().balance, testCase.balance, `${testCase.currency} balance text`);
      });
    }

    const rejected = [
      { amount: '0.001', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_TOO_PRECISE' },
      { amount: '1.5', currency: 'JPY', code: 'WALLET_ERR_AMOUNT_TOO_PRECISE' },
      { amount: '0.0001', currency: 'KWD', code: 'WALLET_ERR_AMOUNT_TOO_PRECISE' },
      { amount: '0', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_INVALID' },
      { amount: '0.00', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_INVALID' },
      { amount: '-1.00', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_INVALID' },
      { amount: '1e3', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_INVALID' },
      { amount: ' 1.00', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_INVALID' },
      { amount: '1,00', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_INVALID' },
      { amount: '99999999999999999', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_INVALID' },
      { amount: '9999999999999999.99', currency: 'EUR', code: 'WALLET_ERR_AMOUNT_INVALID' },
      { amount: '1.00', currency: 'XXX', code: 'WALLET_ERR_CURRENCY_UNSUPPORTED' },
    ];
    for (const testCase of rejected) {
      it(`amount ${JSON.stringify(testCase.amount)} ${testCase.currency} is rejected`, async () => {
        const response = await providerCall(wallet.app, 'bet', aBet('any-player', { amount: testCase.amount, currency: testCase.currency }));
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(errorCode(response), testCase.code);
      });
    }

    it('too precise amount names the offending value', async () => {
      const response = await providerCall(wallet.app, 'bet', aBet('any-player', { amount: '0.001' }));
      assert.equal(response.json().error.amount, '0.001', 'error carries the amount');
      assert.match(response.json().error.message, /0\.001/, 'message names the amount');
    });

    it('numeric amount instead of a string is a validation error', async () => {
      const response = await providerCall(wallet.app, 'bet', { ...aBet('any-player'), amount: 1.5 });
      assert.equal(response.statusCode, 400);
      assert.equal(errorCode(response), 'WALLET_ERR_VALIDATION');
    });

    it('largest safe amount round-trips exactly', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '90071992547409.91' });
      const response = await providerCall(wallet.app, 'balance', { playerId });
      assert.equal(response.json().balance, '90071992547409.91', 'no float rounding');
    });

    it('database formatting matches formatMinor', async () => {
      const samples: [number, string, number][] = [[0, 'EUR', 2], [5, 'EUR', 2], [123456, 'KWD', 3], [7, 'JPY', 0], [Number.MAX_SAFE_INTEGER, 'EUR', 2]];
      for (const [amountMinor, currency, exponent] of samples) {
        const result = await wallet.pool.query<{ text: string }>('SELECT wallet_format_minor($1, $2) AS text', [amountMinor, exponent]);
        assert.equal(result.rows[0]?.text, formatMinor(amountMinor, currency), `${amountMinor} ${currency}`);
      }
    });
  });

  describe('rollback semantics', () => {
    it('rollback of unknown bet succeeds and the late bet is rejected', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId, { amount: '4.00' });
      const rollback = await providerCall(wallet.app, 'rollback', aRollback(bet));
      assert.equal(rollback.statusCode, 200, rollback.body);
      assert.equal(rollback.json().balance, '10.00', 'tombstone moves no money');

      const lateBet = await providerCall(wallet.app, 'bet', bet);
      assert.equal(lateBet.statusCode, 409);
      assert.equal(errorCode(lateBet), 'WALLET_ERR_BET_ROLLED_BACK');
      const balance = await providerCall(wallet.app, 'balance', { playerId });
      assert.equal(balance.json().balance, '10.00', 'late bet debited nothing');
    });

    it('second rollback id for a rolled-back bet succeeds without effect', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId, { amount: '4.00' });
      await providerCall(wallet.app, 'bet', bet);
      const first = await providerCall(wallet.app, 'rollback', aRollback(bet));
      const second = await providerCall(wallet.app, 'rollback', aRollback(bet));

      assert.equal(first.json().balance, '10.00', 'first rollback returns the stake');
      assert.equal(second.statusCode, 200, second.body);
      assert.equal(second.json().balance, '10.00', 'second rollback returns nothing more');
      assert.equal(second.json().balanceVersion, first.json().balanceVersion, 'no new balance version');
    });

    it('rollback after a win is rejected as settled', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId);
      await providerCall(wallet.app, 'bet', bet);
      await providerCall(wallet.app, 'win', aWin(bet));
      const rollback = await providerCall(wallet.app, 'rollback', aRollback(bet));
      assert.equal(rollback.statusCode, 409);
      assert.equal(errorCode(rollback), 'WALLET_ERR_ROUND_SETTLED');
    });

    it('rollback after end-round is rejected as settled', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId);
      await providerCall(wallet.app, 'bet', bet);
      const ended = await providerCall(wallet.app, 'end-round', {
        playerId, transactionId: uniqueId('end'), roundId: bet.roundId, gameId: bet.gameId,
      });
      assert.equal(ended.statusCode, 200, ended.body);
      const rollback = await providerCall(wallet.app, 'rollback', aRollback(bet));
      assert.equal(errorCode(rollback), 'WALLET_ERR_ROUND_SETTLED');
    });

    it('win after end-round is rejected as closed', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId);
      await providerCall(wallet.app, 'bet', bet);
      await providerCall(wallet.app, 'win', aWin(bet, { endRound: true }));
      const lateWin = await providerCall(wallet.app, 'win', aWin(bet));
      assert.equal(lateWin.statusCode, 409);
      assert.equal(errorCode(lateWin), 'WALLET_ERR_ROUND_CLOSED');
      const lateEnd = await providerCall(wallet.app, 'end-round', {
        playerId, transactionId: uniqueId('end'), roundId: bet.roundId, gameId: bet.gameId,
      });
      assert.equal(errorCode(lateEnd), 'WALLET_ERR_ROUND_CLOSED', 'end-round of an ended round');
      const lateBet = await providerCall(wallet.app, 'bet', aBet(playerId, { roundId: bet.roundId }));
      assert.equal(errorCode(lateBet), 'WALLET_ERR_ROUND_CLOSED', 'bet into an ended round');
    });

    it('win on a round whose bet was rolled back is rejected', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId);
      await providerCall(wallet.app, 'bet', bet);
      await providerCall(wallet.app, 'rollback', aRollback(bet));
      const win = await providerCall(wallet.app, 'win', aWin(bet, { betTransactionId: bet.transactionId }));
      assert.equal(win.statusCode, 409);
      assert.equal(errorCode(win), 'WALLET_ERR_BET_ROLLED_BACK');
    });

    it('win on an unknown round is 404', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const win = await providerCall(wallet.app, 'win', aWin(aBet(playerId)));
      assert.equal(win.statusCode, 404);
      assert.equal(errorCode(win), 'WALLET_ERR_ROUND_NOT_FOUND');
    });

    it('rollback targeting a win is rejected', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId);
      await providerCall(wallet.app, 'bet', bet);
      const win = aWin(bet);
      await providerCall(wallet.app, 'win', win);
      const rollback = await providerCall(wallet.app, 'rollback', { ...aRollback(bet), betTransactionId: win.transactionId });
      assert.equal(rollback.statusCode, 409);
      assert.equal(errorCode(rollback), 'WALLET_ERR_ROLLBACK_TARGET_INVALID');
    });
  });
});
