import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyPlayerToken } from '@croupier/shared';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { aBet, aPlayer, aRollback, uniqueId } from './support/builders.js';
import { createTestDatabase } from './support/database.js';
import { assertLedgerInvariants } from './support/ledger-invariants.js';
import {
  errorCode,
  licenseeCall,
  paymentCall,
  PLAYER_TOKEN_SECRET,
  providerCall,
  startTestWallet,
  type TestWallet,
} from './support/wallet.js';

describe('payments, bonus and players', () => {
  let wallet: TestWallet;
  let dropDatabase: () => Promise<void>;
  let brand: string;

  before(async () => {
    const database = await createTestDatabase(infraSettings().pgUrl);
    dropDatabase = database.drop;
    brand = uniqueBrand('wallet');
    wallet = await startTestWallet({ databaseUrl: database.url, brand });
  });

  after(async () => {
    await assertLedgerInvariants(wallet.pool);
    await wallet.close();
    await dropDatabase();
  });

  function aDeposit(playerId: string, amount = '10.00') {
    return { paymentReference: uniqueId('dep'), playerId, amount, currency: 'EUR', method: 'card' };
  }

  describe('payments', () => {
    it('replayed deposit credits once', async () => {
      const playerId = await aPlayer(wallet.app);
      const deposit = aDeposit(playerId, '25.00');
      const first = await paymentCall(wallet.app, 'deposit-completed', deposit);
      const replay = await paymentCall(wallet.app, 'deposit-completed', deposit);

      assert.equal(first.statusCode, 200, first.body);
      assert.equal(replay.body, first.body, 'replay returns the stored response');
      assert.equal(first.json().paymentReference, deposit.paymentReference);
      const balance = await providerCall(wallet.app, 'balance', { playerId });
      assert.equal(balance.json().balance, '25.00', 'credited once');
    });

    it('deposit reference reused with another amount is a duplicate', async () => {
      const playerId = await aPlayer(wallet.app);
      const deposit = aDeposit(playerId);
      await paymentCall(wallet.app, 'deposit-completed', deposit);
      const conflicting = await paymentCall(wallet.app, 'deposit-completed', { ...deposit, amount: '11.00' });
      assert.equal(conflicting.statusCode, 409);
      assert.equal(errorCode(conflicting), 'WALLET_ERR_DUPLICATE_TRANSACTION');
    });

    it('closed player cannot deposit', async () => {
      const playerId = await aPlayer(wallet.app);
      await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/status`, { status: 'closed' });
      const response = await paymentCall(wallet.app, 'deposit-completed', aDeposit(playerId));
      assert.equal(response.statusCode, 403);
      assert.equal(errorCode(response), 'WALLET_ERR_PLAYER_INACTIVE');
    });

    it('withdrawal holds cash and completion pays it out', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00', bonus: '5.00' });
      const withdrawal = { paymentReference: uniqueId('wd'), playerId, amount: '4.00', currency: 'EUR' };
      const requested = await paymentCall(wallet.app, 'withdrawal-requested', withdrawal);
      assert.equal(requested.statusCode, 200, requested.body);
      assert.equal(requested.json().cash, '6.00', 'cash is held');

      const completed = await paymentCall(wallet.app, 'withdrawal-completed', { paymentReference: withdrawal.paymentReference, playerId });
      assert.equal(completed.statusCode, 200, completed.body);
      assert.equal(completed.json().cash, '6.00', 'completion leaves cash as it is');
      const failedLater = await paymentCall(wallet.app, 'withdrawal-failed', {
        paymentReference: withdrawal.paymentReference, playerId, reason: 'bank rejected',
      });
      assert.equal(failedLater.statusCode, 409);
      assert.equal(errorCode(failedLater), 'WALLET_ERR_WITHDRAWAL_SETTLED');
    });

    it('failed withdrawal returns the held cash', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const withdrawal = { paymentReference: uniqueId('wd'), playerId, amount: '7.00', currency: 'EUR' };
      await paymentCall(wallet.app, 'withdrawal-requested', withdrawal);
      const failure = { paymentReference: withdrawal.paymentReference, playerId, reason: 'account closed' };
      const failed = await paymentCall(wallet.app, 'withdrawal-failed', failure);
      const replay = await paymentCall(wallet.app, 'withdrawal-failed', failure);

      assert.equal(failed.json().cash, '10.00', 'cash is back');
      assert.equal(replay.body, failed.body, 'replay of the failure');
    });

    it('withdrawal cannot use bonus money', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '1.00', bonus: '50.00' });
      const response = await paymentCall(wallet.app, 'withdrawal-requested', {
        paymentReference: uniqueId('wd'), playerId, amount: '2.00', currency: 'EUR',
      });
      assert.equal(response.statusCode, 402);
      assert.equal(errorCode(response), 'WALLET_ERR_INSUFFICIENT_FUNDS');
    });

    it('completion of unknown withdrawal is 404', async () => {
      const playerId = await aPlayer(wallet.app);
      const response = await paymentCall(wallet.app, 'withdrawal-completed', { paymentReference: 'nothing', playerId });
      assert.equal(response.statusCode, 404);
      assert.equal(errorCode(response), 'WALLET_ERR_WITHDRAWAL_NOT_FOUND');
    });
  });

  describe('bonus', () => {
    it('bonus credit is idempotent by reference', async () => {
      const playerId = await aPlayer(wallet.app);
      const bonus = { bonusReference: uniqueId('bonus'), amount: '5.00', currency: 'EUR' };
      const first = await licenseeCall(wallet.app, 'POST', `/v1/players/${playerId}/bonus-credits`, bonus);
      const replay = await licenseeCall(wallet.app, 'POST', `/v1/players/${playerId}/bonus-credits`, bonus);

      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.json().bonus, '5.00', 'bonus balance credited');
      assert.equal(first.json().cash, '0.00', 'cash untouched');
      assert.equal(replay.body, first.body, 'replay returns the stored response');
    });

    it('bet funded by bonus is rolled back to bonus', async () => {
      const playerId = await aPlayer(wallet.app, { bonus: '5.00' });
      const bet = aBet(playerId, { amount: '2.00' });
      await providerCall(wallet.app, 'bet', bet);
      const rollback = await providerCall(wallet.app, 'rollback', aRollback(bet));
      assert.equal(rollback.json().bonus, '5.00', 'bonus restored');
      assert.equal(rollback.json().cash, '0.00', 'cash untouched');
    });
  });

  describe('players', () => {
    it('create is repeatable with the same currency', async () => {
      const playerId = uniqueId('player');
      const first = await licenseeCall(wallet.app, 'POST', '/v1/players', { playerId, currency: 'SEK' });
      const again = await licenseeCall(wallet.app, 'POST', '/v1/players', { playerId, currency: 'SEK' });
      const otherCurrency = await licenseeCall(wallet.app, 'POST', '/v1/players', { playerId, currency: 'EUR' });

      assert.equal(first.statusCode, 201, first.body);
      assert.equal(again.statusCode, 200, 'second create returns the player');
      assert.equal(otherCurrency.statusCode, 409);
      assert.equal(errorCode(otherCurrency), 'WALLET_ERR_PLAYER_EXISTS');
    });

    it('create with unsupported currency is 400', async () => {
      const response = await licenseeCall(wallet.app, 'POST', '/v1/players', { playerId: uniqueId('player'), currency: 'ZZZ' });
      assert.equal(response.statusCode, 400);
      assert.equal(errorCode(response), 'WALLET_ERR_CURRENCY_UNSUPPORTED');
    });

    it('status and KYC changes are returned', async () => {
      const playerId = await aPlayer(wallet.app);
      const suspended = await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/status`, { status: 'suspended' });
      const verified = await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/kyc-status`, { kycStatus: 'verified' });

      assert.equal(suspended.json().status, 'suspended');
      assert.equal(verified.json().kycStatus, 'verified');
      const events = await wallet.pool.query("SELECT envelope FROM outbox WHERE player_id = $1 AND event_type = 'KycStatusChanged'", [playerId]);
      assert.equal(events.rowCount, 1, 'one KycStatusChanged event');
      assert.deepEqual(events.rows[0].envelope.data, { previousStatus: 'unverified', status: 'verified' });
    });

    it('invalid status is a validation error', async () => {
      const playerId = await aPlayer(wallet.app);
      const response = await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/status`, { status: 'banned' });
      assert.equal(errorCode(response), 'WALLET_ERR_VALIDATION');
    });

    it('balance snapshot has the gateway shape', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '12.34', bonus: '1.00' });
      const response = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/balance`);

      assert.equal(response.statusCode, 200, response.body);
      const snapshot = response.json();
      assert.deepEqual(Object.keys(snapshot).sort(), ['balanceVersion', 'bonusMinor', 'cashMinor', 'currency', 'playerId', 'takenAt']);
      assert.equal(snapshot.cashMinor, 1234, 'cash in minor units');
      assert.equal(snapshot.bonusMinor, 100, 'bonus in minor units');
      assert.equal(snapshot.balanceVersion, 2, 'version after deposit and bonus');
      assert.ok(!Number.isNaN(Date.parse(snapshot.takenAt)), 'takenAt is a timestamp');
    });

    it('session token verifies for this brand', async () => {
      const playerId = await aPlayer(wallet.app);
      const response = await licenseeCall(wallet.app, 'POST', `/v1/players/${playerId}/session-tokens`);
      assert.equal(response.statusCode, 201, response.body);
      const claims = await verifyPlayerToken(PLAYER_TOKEN_SECRET, response.json().token, brand);
      assert.equal(claims.playerId, playerId);
    });

    it('session token for unknown player is 404', async () => {
      const response = await licenseeCall(wallet.app, 'POST', '/v1/players/ghost/session-tokens');
      assert.equal(response.statusCode, 404);
      assert.equal(errorCode(response), 'WALLET_ERR_PLAYER_NOT_FOUND');
    });
  });
});
