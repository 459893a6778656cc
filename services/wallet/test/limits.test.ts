import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { aBet, aPlayer, aRollback, aWin, uniqueId } from './support/builders.js';
import { controlWalletClock, type WalletClock } from './support/clock.js';
import { createTestDatabase } from './support/database.js';
import { assertLedgerInvariants } from './support/ledger-invariants.js';
import { errorCode, licenseeCall, paymentCall, providerCall, startTestWallet, type TestWallet } from './support/wallet.js';

const DAY_SECONDS = 86_400;

describe('responsible-gaming limits', () => {
  let wallet: TestWallet;
  let clock: WalletClock;
  let dropDatabase: () => Promise<void>;

  before(async () => {
    const database = await createTestDatabase(infraSettings().pgUrl);
    dropDatabase = database.drop;
    wallet = await startTestWallet({ databaseUrl: database.url, brand: uniqueBrand('wallet'), limitCoolingOffSeconds: DAY_SECONDS });
    clock = controlWalletClock(wallet.pool);
  });

  beforeEach(() => clock.set(null));

  after(async () => {
    clock.set(null);
    await assertLedgerInvariants(wallet.pool);
    await wallet.close();
    await dropDatabase();
  });

  function putLimit(playerId: string, limitType: string, period: string, amountMinor: number | null, overrides: object = {}) {
    return licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/limits/${limitType}/${period}`, {
      currency: 'EUR',
      amountMinor,
      changedBy: playerId,
      ...overrides,
    });
  }

  function deposit(playerId: string, amount: string) {
    return paymentCall(wallet.app, 'deposit-completed', { paymentReference: uniqueId('dep'), playerId, amount, currency: 'EUR', method: 'card' });
  }

  async function limitEvents(playerId: string): Promise<Record<string, unknown>[]> {
    const result = await wallet.pool.query<{ envelope: { data: Record<string, unknown> } }>(
      "SELECT envelope FROM outbox WHERE player_id = $1 AND event_type = 'PlayerLimitChanged' ORDER BY outbox_id",
      [playerId],
    );
    return result.rows.map((row) => row.envelope.data);
  }

  async function auditRows(playerId: string) {
    const result = await wallet.pool.query(
      `SELECT a.action, a.limit_type, a.period, a.currency, a.previous_value, a.new_value, a.changed_by, a.changed_at,
              o.event_type
       FROM responsible_gaming_audit a LEFT JOIN outbox o ON o.event_id = a.event_id
       WHERE a.player_id = $1 ORDER BY a.audit_id`,
      [playerId],
    );
    return result.rows;
  }

  async function limitOf(playerId: string, limitType: string, period: string) {
    const response = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/limits`);
    assert.equal(response.statusCode, 200, response.body);
    const limits = response.json().limits as { limitType: string; period: string }[];
    const limit = limits.find((candidate) => candidate.limitType === limitType && candidate.period === period);
    assert.ok(limit !== undefined, `GET /limits lists ${limitType} ${period}`);
    return limit as Record<string, unknown>;
  }

  describe('changes', () => {
    it('new limit and decrease apply at once', async () => {
      const playerId = await aPlayer(wallet.app);
      const created = await putLimit(playerId, 'deposit', 'day', 10_000);
      assert.equal(created.statusCode, 200, created.body);
      assert.equal(created.json().amountMinor, 10_000, 'new limit in force');
      assert.equal(created.json().pending, null, 'nothing pending');

      assert.equal((await deposit(playerId, '80.00')).statusCode, 200, 'deposit under the limit');
      const over = await deposit(playerId, '30.00');
      assert.equal(over.statusCode, 403);
      assert.equal(errorCode(over), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED');

      const decreased = await putLimit(playerId, 'deposit', 'day', 5000);
      assert.equal(decreased.json().amountMinor, 5000, 'decrease in force at once');
      assert.equal(decreased.json().usedMinor, 8000, 'usage of today');
      assert.equal(decreased.json().remainingMinor, 0, 'nothing left today');
      const afterDecrease = await deposit(playerId, '0.01');
      assert.equal(errorCode(afterDecrease), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED', 'the lower limit already applies');
      assert.equal(afterDecrease.json().error.limitMinor, 5000, 'rejected against the new value');
    });

    it('limit exceeded error carries limit, period, usage', async () => {
      const playerId = await aPlayer(wallet.app);
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'deposit', 'week', 10_000);
      await deposit(playerId, '80.00');
      const response = await deposit(playerId, '30.00');

      assert.equal(response.statusCode, 403);
      assert.deepEqual(response.json(), {
        error: {
          code: 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED',
          message:
            'deposit of 30.00 EUR exceeds the week deposit limit of 100.00 EUR: deposited 80.00 EUR in the period that ends 2031-01-13T00:00:00.000000Z',
          playerId,
          limitType: 'deposit',
          period: 'week',
          currency: 'EUR',
          limitMinor: 10_000,
          usedMinor: 8000,
          attemptedMinor: 3000,
          periodStart: '2031-01-06T00:00:00.000000Z',
          periodEnd: '2031-01-13T00:00:00.000000Z',
        },
      });
      const balance = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/balance`);
      assert.equal(balance.json().cashMinor, 8000, 'the rejected deposit left the balance alone');
    });

    it('increase waits for the cooling-off period', async () => {
      const playerId = await aPlayer(wallet.app);
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'deposit', 'day', 10_000);
      const raised = await putLimit(playerId, 'deposit', 'day', 20_000);

      assert.equal(raised.statusCode, 200, raised.body);
      assert.equal(raised.json().amountMinor, 10_000, 'the old limit stays in force');
      assert.deepEqual(raised.json().pending, { amountMinor: 20_000, effectiveAt: '2031-01-08T10:00:00.000000Z', changedBy: playerId });
      const during = await deposit(playerId, '150.00');
      assert.equal(errorCode(during), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED', 'the old value is enforced');
      assert.equal(during.json().error.limitMinor, 10_000);

      clock.set('2031-01-08T09:59:59.999999Z');
      const lastInstant = await deposit(playerId, '150.00');
      assert.equal(errorCode(lastInstant), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED', 'still the old value one microsecond before');
      const eventsBefore = await limitEvents(playerId);
      assert.deepEqual(eventsBefore.map((event) => event.pending), [false, true], 'no applied event before effectiveAt');

      clock.set('2031-01-08T10:00:00Z');
      const shown = await limitOf(playerId, 'deposit', 'day');
      assert.equal(shown.amountMinor, 20_000, 'GET shows the raised limit once effective');
      assert.equal(shown.pending, null, 'GET shows nothing pending');
      assert.equal((await limitEvents(playerId)).length, 2, 'reading the limits publishes nothing');

      const accepted = await deposit(playerId, '150.00');
      assert.equal(accepted.statusCode, 200, accepted.body);
      clock.set('2031-01-08T11:00:00Z');
      assert.equal((await deposit(playerId, '10.00')).statusCode, 200, 'a later deposit under the raised limit');

      const events = await limitEvents(playerId);
      assert.equal(events.length, 3, 'one applied event, written once');
      assert.deepEqual(events[2], {
        limitType: 'deposit',
        period: 'day',
        currency: 'EUR',
        previousAmountMinor: 10_000,
        amountMinor: 20_000,
        effectiveAt: '2031-01-08T10:00:00.000000Z',
        pending: false,
        changedBy: playerId,
      });
      const audit = await auditRows(playerId);
      assert.deepEqual(audit.map((row) => row.action), ['limit_set', 'limit_set', 'limit_pending_applied']);
      assert.deepEqual(audit[2]?.previous_value, {
        amountMinor: 10_000,
        pending: { amountMinor: 20_000, effectiveAt: '2031-01-08T10:00:00.000000Z', changedBy: playerId },
      });
      assert.deepEqual(audit[2]?.new_value, { amountMinor: 20_000, pending: null });
      assert.equal((audit[2]?.changed_at as Date).toISOString(), '2031-01-08T10:00:00.000Z', 'applied when the deposit touched it');
    });

    it('rejected deposit still applies a due increase', async () => {
      const playerId = await aPlayer(wallet.app);
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'deposit', 'day', 10_000);
      await putLimit(playerId, 'deposit', 'day', 20_000);

      clock.set('2031-01-09T10:00:00Z');
      const rejected = await deposit(playerId, '250.00');
      assert.equal(errorCode(rejected), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED');
      assert.equal(rejected.json().error.limitMinor, 20_000, 'checked against the applied increase');
      const events = await limitEvents(playerId);
      assert.deepEqual(events.map((event) => event.pending), [false, true, false], 'the applied event committed with the rejection');
      const stored = await wallet.pool.query(
        "SELECT amount_minor, pending_effective_at FROM player_limits WHERE player_id = $1 AND period = 'day'",
        [playerId],
      );
      assert.equal(stored.rows[0].amount_minor, '20000', 'the stored limit is the raised one');
      assert.equal(stored.rows[0].pending_effective_at, null, 'nothing pending any more');
    });

    it('removal waits for the cooling-off period', async () => {
      const playerId = await aPlayer(wallet.app);
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'deposit', 'month', 5000);
      const removed = await putLimit(playerId, 'deposit', 'month', null);
      assert.equal(removed.json().amountMinor, 5000, 'limit stays during cooling-off');
      assert.deepEqual(removed.json().pending, { amountMinor: null, effectiveAt: '2031-01-08T10:00:00.000000Z', changedBy: playerId });
      assert.equal(errorCode(await deposit(playerId, '60.00')), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED');

      clock.set('2031-01-08T10:00:00Z');
      assert.equal((await deposit(playerId, '60.00')).statusCode, 200, 'no limit after the cooling-off period');
      const shown = await limitOf(playerId, 'deposit', 'month');
      assert.equal(shown.amountMinor, null, 'no limit');
      assert.equal(shown.remainingMinor, null, 'no remaining amount without a limit');
      const events = await limitEvents(playerId);
      assert.deepEqual(events.at(-1), {
        limitType: 'deposit',
        period: 'month',
        currency: 'EUR',
        previousAmountMinor: 5000,
        amountMinor: null,
        effectiveAt: '2031-01-08T10:00:00.000000Z',
        pending: false,
        changedBy: playerId,
      });
      const stored = await wallet.pool.query('SELECT 1 FROM player_limits WHERE player_id = $1', [playerId]);
      assert.equal(stored.rowCount, 0, 'the limit row is gone');
    });

    it('decrease during cooling-off drops the pending increase', async () => {
      const playerId = await aPlayer(wallet.app);
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'loss', 'day', 10_000);
      await putLimit(playerId, 'loss', 'day', 30_000);
      const lowered = await putLimit(playerId, 'loss', 'day', 8000, { changedBy: 'staff:alice' });

      assert.equal(lowered.json().amountMinor, 8000, 'decrease in force');
      assert.equal(lowered.json().pending, null, 'the pending increase is dropped');
      clock.set('2031-01-09T10:00:00Z');
      assert.equal((await limitOf(playerId, 'loss', 'day')).amountMinor, 8000, 'the dropped increase never applies');
      const events = await limitEvents(playerId);
      assert.deepEqual(
        events.map((event) => [event.previousAmountMinor, event.amountMinor, event.pending, event.changedBy]),
        [
          [null, 10_000, false, playerId],
          [10_000, 30_000, true, playerId],
          [10_000, 8000, false, 'staff:alice'],
        ],
      );
    });

    it('setting the value in force changes nothing', async () => {
      const playerId = await aPlayer(wallet.app);
      await putLimit(playerId, 'loss', 'week', 10_000);
      const again = await putLimit(playerId, 'loss', 'week', 10_000);
      const removeMissing = await putLimit(playerId, 'loss', 'day', null);

      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().amountMinor, 10_000);
      assert.equal(removeMissing.statusCode, 200, removeMissing.body);
      assert.equal(removeMissing.json().amountMinor, null);
      assert.equal((await limitEvents(playerId)).length, 1, 'only the first change published');
      assert.equal((await auditRows(playerId)).length, 1, 'only the first change audited');
    });

    it('audit rows and events match each change', async () => {
      const playerId = await aPlayer(wallet.app);
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'deposit', 'week', 50_000, { changedBy: 'staff:bob' });
      await putLimit(playerId, 'deposit', 'week', 60_000);

      const audit = await auditRows(playerId);
      assert.equal(audit.length, 2);
      assert.deepEqual(audit[0], {
        action: 'limit_set',
        limit_type: 'deposit',
        period: 'week',
        currency: 'EUR',
        previous_value: null,
        new_value: { amountMinor: 50_000, pending: null },
        changed_by: 'staff:bob',
        changed_at: new Date('2031-01-07T10:00:00Z'),
        event_type: 'PlayerLimitChanged',
      });
      assert.deepEqual(audit[1]?.previous_value, { amountMinor: 50_000, pending: null });
      assert.deepEqual(audit[1]?.new_value, {
        amountMinor: 50_000,
        pending: { amountMinor: 60_000, effectiveAt: '2031-01-08T10:00:00.000000Z', changedBy: playerId },
      });
      assert.equal(audit[1]?.event_type, 'PlayerLimitChanged', 'the audit row names the published event');
      const events = await limitEvents(playerId);
      assert.deepEqual(events[1], {
        limitType: 'deposit',
        period: 'week',
        currency: 'EUR',
        previousAmountMinor: 50_000,
        amountMinor: 60_000,
        effectiveAt: '2031-01-08T10:00:00.000000Z',
        pending: true,
        changedBy: playerId,
      });
    });
  });

  describe('ordering', () => {
    it('day above week is rejected', async () => {
      const playerId = await aPlayer(wallet.app);
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'deposit', 'week', 10_000);
      const response = await putLimit(playerId, 'deposit', 'day', 20_000);

      assert.equal(response.statusCode, 409);
      assert.deepEqual(response.json().error, {
        code: 'WALLET_ERR_LIMIT_ORDER_INVALID',
        message:
          'the day deposit limit of 200.00 EUR would exceed the week limit of 100.00 EUR at 2031-01-07T10:00:00.000000Z; ' +
          'limits must keep day <= week <= month, so change the other limit first',
        limitType: 'deposit',
        currency: 'EUR',
        period: 'day',
        requestedAmountMinor: 20_000,
        shorterPeriod: 'day',
        shorterAmountMinor: 20_000,
        longerPeriod: 'week',
        longerAmountMinor: 10_000,
        at: '2031-01-07T10:00:00.000000Z',
      });
      assert.equal((await limitOf(playerId, 'deposit', 'day')).amountMinor, null, 'nothing stored');
      assert.equal((await auditRows(playerId)).length, 1, 'no audit row for the rejection');
      assert.equal((await limitEvents(playerId)).length, 1, 'no event for the rejection');
    });

    it('month below day is rejected without a week', async () => {
      const playerId = await aPlayer(wallet.app);
      await putLimit(playerId, 'loss', 'day', 5000);
      const response = await putLimit(playerId, 'loss', 'month', 4000);
      assert.equal(errorCode(response), 'WALLET_ERR_LIMIT_ORDER_INVALID');
      assert.equal(response.json().error.shorterPeriod, 'day');
      assert.equal(response.json().error.longerPeriod, 'month');
    });

    it('week decrease below day is rejected', async () => {
      const playerId = await aPlayer(wallet.app);
      await putLimit(playerId, 'deposit', 'day', 10_000);
      await putLimit(playerId, 'deposit', 'week', 20_000);
      const response = await putLimit(playerId, 'deposit', 'week', 5000);
      assert.equal(errorCode(response), 'WALLET_ERR_LIMIT_ORDER_INVALID');
      assert.equal((await limitOf(playerId, 'deposit', 'week')).amountMinor, 20_000, 'week unchanged');
    });

    it('pending raise checked at its effective time', async () => {
      const playerId = await aPlayer(wallet.app);
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'deposit', 'day', 10_000);
      await putLimit(playerId, 'deposit', 'week', 20_000);

      const dayFirst = await putLimit(playerId, 'deposit', 'day', 30_000);
      assert.equal(errorCode(dayFirst), 'WALLET_ERR_LIMIT_ORDER_INVALID', 'day would pass week when it applies');
      assert.equal(dayFirst.json().error.at, '2031-01-08T10:00:00.000000Z', 'the violation is at the effective time');
      assert.equal((await limitOf(playerId, 'deposit', 'day')).pending, null, 'nothing pending after the rejection');

      assert.equal((await putLimit(playerId, 'deposit', 'week', 60_000)).statusCode, 200, 'raise week first');
      clock.set('2031-01-07T11:00:00Z');
      const dayAfter = await putLimit(playerId, 'deposit', 'day', 30_000);
      assert.equal(dayAfter.statusCode, 200, dayAfter.body);

      const weekDown = await putLimit(playerId, 'deposit', 'week', 15_000);
      assert.equal(errorCode(weekDown), 'WALLET_ERR_LIMIT_ORDER_INVALID', 'a decrease may not undercut a pending raise');
      assert.equal(weekDown.json().error.at, '2031-01-08T11:00:00.000000Z');
      assert.equal(weekDown.json().error.shorterAmountMinor, 30_000);
    });
  });

  describe('periods', () => {
    // Each case: a first deposit at the first instant of a period uses the whole
    // limit, one at its last instant is rejected, one at the next period's
    // first instant is accepted again.
    const cases = [
      { period: 'day', start: '2031-01-07T00:00:00Z', last: '2031-01-07T23:59:59.999999Z', next: '2031-01-08T00:00:00Z' },
      { period: 'week', start: '2031-01-06T00:00:00Z', last: '2031-01-12T23:59:59.999999Z', next: '2031-01-13T00:00:00Z' },
      { period: 'month', start: '2031-02-01T00:00:00Z', last: '2031-02-28T23:59:59.999999Z', next: '2031-03-01T00:00:00Z' },
    ];
    for (const { period, start, last, next } of cases) {
      it(`deposit ${period} window edges are exact`, async () => {
        const playerId = await aPlayer(wallet.app);
        clock.set(start);
        await putLimit(playerId, 'deposit', period, 1000);
        assert.equal((await deposit(playerId, '10.00')).statusCode, 200, 'first instant');

        clock.set(last);
        const atLast = await deposit(playerId, '0.01');
        assert.equal(errorCode(atLast), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED', 'last instant is the same period');
        assert.equal(atLast.json().error.periodStart, start.replace('Z', '.000000Z'));
        assert.equal(atLast.json().error.periodEnd, next.replace('Z', '.000000Z'));

        clock.set(next);
        assert.equal((await deposit(playerId, '10.00')).statusCode, 200, 'next period starts from zero');
        const shown = await limitOf(playerId, 'deposit', period);
        assert.equal(shown.usedMinor, 1000, 'usage of the new period');
        assert.equal(shown.periodStart, next.replace('Z', '.000000Z'));
      });
    }

    it('loss day edge is exact', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '100.00' });
      clock.set('2031-01-07T23:59:59.999999Z');
      await putLimit(playerId, 'loss', 'day', 500);
      assert.equal((await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '5.00' }))).statusCode, 200);
      assert.equal(errorCode(await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '0.01' }))), 'WALLET_ERR_LOSS_LIMIT_EXCEEDED');
      clock.set('2031-01-08T00:00:00Z');
      assert.equal((await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '5.00' }))).statusCode, 200, 'new day');
    });
  });

  describe('loss limits', () => {
    it('bets count stakes minus wins and refunds', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '100.00' });
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'loss', 'day', 1000);

      const first = aBet(playerId, { amount: '6.00' });
      assert.equal((await providerCall(wallet.app, 'bet', first)).statusCode, 200);
      const rejected = await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '5.00' }));
      assert.equal(rejected.statusCode, 403);
      assert.equal(rejected.json().error.code, 'WALLET_ERR_LOSS_LIMIT_EXCEEDED');
      assert.equal(rejected.json().error.usedMinor, 600);
      assert.equal(rejected.json().error.attemptedMinor, 500);
      assert.equal(rejected.json().error.limitMinor, 1000);
      assert.match(rejected.json().error.message, /^bet of 5\.00 EUR exceeds the day loss limit of 10\.00 EUR: net loss 6\.00 EUR/);

      assert.equal((await providerCall(wallet.app, 'win', aWin(first, { amount: '3.00' }))).statusCode, 200, 'win');
      const second = aBet(playerId, { amount: '5.00' });
      assert.equal((await providerCall(wallet.app, 'bet', second)).statusCode, 200, 'the win made room');
      assert.equal((await limitOf(playerId, 'loss', 'day')).usedMinor, 800, 'net loss 6 - 3 + 5');

      assert.equal((await providerCall(wallet.app, 'rollback', aRollback(second))).statusCode, 200, 'rollback');
      assert.equal((await limitOf(playerId, 'loss', 'day')).usedMinor, 300, 'the refund leaves the net loss');
      const balance = await providerCall(wallet.app, 'balance', { playerId });
      assert.equal(balance.json().balance, '97.00', 'only accepted bets and the win moved money');
    });

    it('refund of an earlier day leaves today alone', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '100.00' });
      clock.set('2031-01-07T23:00:00Z');
      await putLimit(playerId, 'loss', 'day', 1000);
      const yesterday = aBet(playerId, { amount: '4.00' });
      await providerCall(wallet.app, 'bet', yesterday);

      clock.set('2031-01-08T01:00:00Z');
      await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '10.00' }));
      assert.equal((await providerCall(wallet.app, 'rollback', aRollback(yesterday))).statusCode, 200);
      const shown = await limitOf(playerId, 'loss', 'day');
      assert.equal(shown.usedMinor, 1000, 'today keeps its own net loss');
      assert.equal(errorCode(await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '0.01' }))), 'WALLET_ERR_LOSS_LIMIT_EXCEEDED');
    });

    it('bet rejected by the limit stores nothing', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      await putLimit(playerId, 'loss', 'day', 100);
      const bet = aBet(playerId, { amount: '2.00' });
      const rejected = await providerCall(wallet.app, 'bet', bet);
      assert.equal(errorCode(rejected), 'WALLET_ERR_LOSS_LIMIT_EXCEEDED');

      const stored = await wallet.pool.query('SELECT 1 FROM wallet_transactions WHERE external_id = $1', [bet.transactionId]);
      assert.equal(stored.rowCount, 0, 'no transaction stored, so a retry is checked again');
      const balance = await providerCall(wallet.app, 'balance', { playerId });
      assert.equal(balance.json().balanceVersion, 1, 'only the deposit changed the balance');
    });
  });

  describe('concurrency', () => {
    it('30 parallel deposits against a limit of 10', async () => {
      const playerId = await aPlayer(wallet.app);
      await putLimit(playerId, 'deposit', 'day', 10_000);
      const responses = await Promise.all(Array.from({ length: 30 }, () => deposit(playerId, '10.00')));

      const accepted = responses.filter((response) => response.statusCode === 200);
      const rejected = responses.filter((response) => errorCode(response) === 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED');
      assert.equal(accepted.length, 10, 'deposits accepted');
      assert.equal(rejected.length, 20, 'deposits rejected by the limit');
      const balance = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/balance`);
      assert.equal(balance.json().cashMinor, 10_000, 'exactly the limit deposited');
      assert.equal((await limitOf(playerId, 'deposit', 'day')).usedMinor, 10_000, 'usage equals the limit');
    });

    it('parallel bets against a loss limit', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '100.00' });
      await putLimit(playerId, 'loss', 'day', 1500);
      const responses = await Promise.all(
        Array.from({ length: 25 }, () => providerCall(wallet.app, 'bet', aBet(playerId, { amount: '1.00' }))),
      );
      assert.equal(responses.filter((response) => response.statusCode === 200).length, 15, 'bets accepted');
      assert.equal(responses.filter((response) => errorCode(response) === 'WALLET_ERR_LOSS_LIMIT_EXCEEDED').length, 10, 'bets rejected');
    });
  });

  describe('first limit', () => {
    async function storedTotals(playerId: string) {
      const result = await wallet.pool.query<{ period: string; deposit_minor: string; net_loss_minor: string }>(
        'SELECT period, deposit_minor, net_loss_minor FROM player_period_totals WHERE player_id = $1 ORDER BY wallet_period_rank(period)',
        [playerId],
      );
      return result.rows.map((row) => [row.period, Number(row.deposit_minor), Number(row.net_loss_minor)]);
    }

    async function usage(playerId: string) {
      const response = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/limits`);
      assert.equal(response.statusCode, 200, response.body);
      return (response.json().limits as { limitType: string; period: string; usedMinor: number }[]).map(
        (limit) => `${limit.limitType}:${limit.period}=${limit.usedMinor}`,
      );
    }

    it('counts play before the limit', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '100.00' });
      // 2031-01-06 is a Monday, so the 2nd is in the same month and the 6th in the same week as the 7th.
      clock.set('2031-01-02T10:00:00Z');
      await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '10.00' }));
      clock.set('2031-01-06T10:00:00Z');
      await deposit(playerId, '20.00');
      const mondayBet = aBet(playerId, { amount: '5.00' });
      await providerCall(wallet.app, 'bet', mondayBet);
      clock.set('2031-01-07T09:00:00Z');
      await deposit(playerId, '30.00');
      const won = aBet(playerId, { amount: '6.00' });
      await providerCall(wallet.app, 'bet', won);
      assert.equal((await providerCall(wallet.app, 'win', aWin(won, { amount: '2.00' }))).statusCode, 200, 'win');
      const refunded = aBet(playerId, { amount: '4.00' });
      await providerCall(wallet.app, 'bet', refunded);
      assert.equal((await providerCall(wallet.app, 'rollback', aRollback(refunded))).statusCode, 200, 'rollback of today');
      assert.equal((await providerCall(wallet.app, 'rollback', aRollback(mondayBet))).statusCode, 200, 'rollback of Monday');

      clock.set('2031-01-07T10:00:00Z');
      const expected = [
        'deposit:day=3000', 'deposit:week=5000', 'deposit:month=5000',
        'loss:day=400', 'loss:week=400', 'loss:month=1400',
      ];
      assert.deepEqual(await storedTotals(playerId), [], 'no totals kept without a limit');
      assert.deepEqual(await usage(playerId), expected, 'GET sums the ledger without a limit');

      const created = await putLimit(playerId, 'loss', 'day', 1000);
      assert.equal(created.statusCode, 200, created.body);
      assert.equal(created.json().usedMinor, 400, 'the new limit starts with the usage of today');
      assert.equal(created.json().remainingMinor, 600);
      assert.deepEqual(await usage(playerId), expected, 'the same usage from the started totals');
      assert.deepEqual(await storedTotals(playerId), [['day', 3000, 400], ['week', 5000, 400], ['month', 5000, 1400]]);

      const over = await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '6.01' }));
      assert.equal(errorCode(over), 'WALLET_ERR_LOSS_LIMIT_EXCEEDED');
      assert.equal(over.json().error.usedMinor, 400, 'checked against the earlier net loss');
      assert.equal((await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '6.00' }))).statusCode, 200, 'up to the limit');

      assert.equal((await putLimit(playerId, 'deposit', 'week', 5000)).json().usedMinor, 5000, 'a second limit keeps the totals');
      assert.equal(errorCode(await deposit(playerId, '0.01')), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED');
    });

    it('limit created while bets race it', async () => {
      clock.set('2031-01-07T10:00:00Z');
      for (let round = 0; round < 5; round += 1) {
        const playerId = await aPlayer(wallet.app, { deposit: '100.00' });
        const bets = Array.from({ length: 24 }, () => providerCall(wallet.app, 'bet', aBet(playerId, { amount: '1.00' })));
        const created = putLimit(playerId, 'loss', 'day', 1000);
        const responses = await Promise.all(bets);
        assert.equal((await created).statusCode, 200, (await created).body);

        const accepted = responses.filter((response) => response.statusCode === 200).length;
        const rejected = responses.filter((response) => errorCode(response) === 'WALLET_ERR_LOSS_LIMIT_EXCEEDED').length;
        assert.equal(accepted + rejected, 24, 'each bet accepted or rejected by the limit');
        assert.ok(accepted >= 10, `bets before the limit or under it are accepted, got ${accepted}`);
        assert.equal((await limitOf(playerId, 'loss', 'day')).usedMinor, accepted * 100, 'every accepted bet counted once');
        const ledger = await wallet.pool.query<{ net_loss_minor: string }>(
          "SELECT net_loss_minor FROM wallet_ledger_period_totals($1, wallet_now()) WHERE period = 'day'",
          [playerId],
        );
        assert.equal(Number(ledger.rows[0]?.net_loss_minor), accepted * 100, 'the ledger agrees with the totals');

        // Outbox ids are drawn under the player row lock, so they order the bets against the limit.
        const order = await wallet.pool.query<{ before: string; after: string }>(
          `SELECT count(*) FILTER (WHERE bet.outbox_id < limit_set.outbox_id) AS before,
                  count(*) FILTER (WHERE bet.outbox_id > limit_set.outbox_id) AS after
           FROM outbox bet, outbox limit_set
           WHERE bet.player_id = $1 AND bet.event_type = 'BetPlaced'
             AND limit_set.player_id = $1 AND limit_set.event_type = 'PlayerLimitChanged'`,
          [playerId],
        );
        const before = Number(order.rows[0]?.before);
        assert.equal(Number(order.rows[0]?.after), Math.max(0, 10 - before), 'bets after the limit fill it exactly');
      }
    });

    it('removal then new limit uses fresh usage', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '100.00' });
      clock.set('2031-01-07T10:00:00Z');
      await putLimit(playerId, 'loss', 'day', 1000);
      await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '3.00' }));
      const removed = await putLimit(playerId, 'loss', 'day', null);
      assert.equal(removed.json().pending.amountMinor, null, 'removal pending');

      clock.set('2031-01-08T10:00:00Z');
      assert.equal((await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '2.00' }))).statusCode, 200, 'bet applies the removal');
      assert.deepEqual(await storedTotals(playerId), [], 'totals deleted with the last limit');
      clock.set('2031-01-08T11:00:00Z');
      assert.equal((await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '4.00' }))).statusCode, 200, 'bet without a limit');
      assert.equal((await limitOf(playerId, 'loss', 'day')).usedMinor, 600, 'GET sums the ledger');

      clock.set('2031-01-08T12:00:00Z');
      const recreated = await putLimit(playerId, 'loss', 'day', 1000);
      assert.equal(recreated.json().usedMinor, 600, 'both bets since the removal counted');
      assert.equal(errorCode(await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '4.01' }))), 'WALLET_ERR_LOSS_LIMIT_EXCEEDED');
      assert.equal((await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '4.00' }))).statusCode, 200);
      assert.deepEqual(await storedTotals(playerId), [['day', 0, 1000], ['week', 0, 1300], ['month', 0, 1300]]);
    });
  });

  describe('bad input', () => {
    const cases: { name: string; path?: string; body?: object; status: number; code: string; pattern: RegExp }[] = [
      { name: 'negative amount', body: { amountMinor: -1 }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /amountMinor must be >= 0/ },
      { name: 'decimal amount', body: { amountMinor: 10.5 }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /amountMinor must be integer/ },
      { name: 'amount as string', body: { amountMinor: '100' }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /amountMinor/ },
      { name: 'unknown period', path: 'deposit/year', status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /params\/period/ },
      { name: 'unknown limit type', path: 'wager/day', status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /params\/limitType/ },
      { name: 'wrong currency', body: { currency: 'SEK' }, status: 400, code: 'WALLET_ERR_CURRENCY_MISMATCH', pattern: /SEK does not match the player currency EUR/ },
      { name: 'unsupported currency', body: { currency: 'ZZZ' }, status: 400, code: 'WALLET_ERR_CURRENCY_UNSUPPORTED', pattern: /ZZZ is not supported/ },
      { name: 'missing changedBy', body: { changedBy: undefined }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /changedBy/ },
      { name: 'empty changedBy', body: { changedBy: '' }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /changedBy/ },
      { name: 'unknown field', body: { amount: '10.00' }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /additional properties/ },
    ];
    for (const { name, path, body, status, code, pattern } of cases) {
      it(`limit with ${name} is rejected`, async () => {
        const playerId = await aPlayer(wallet.app);
        const response = await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/limits/${path ?? 'deposit/day'}`, {
          currency: 'EUR',
          amountMinor: 1000,
          changedBy: playerId,
          ...body,
        });
        assert.equal(response.statusCode, status, response.body);
        assert.equal(errorCode(response), code);
        assert.match(response.json().error.message, pattern);

        const limits = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/limits`);
        const inForce = (limits.json().limits as { amountMinor: number | null }[]).filter((limit) => limit.amountMinor !== null);
        assert.equal(inForce.length, 0, 'no limit stored');
        assert.equal((await auditRows(playerId)).length, 0, 'no audit row');
        assert.equal((await limitEvents(playerId)).length, 0, 'no event');
      });
    }

    it('limit of unknown player is 404', async () => {
      const put = await putLimit('ghost', 'deposit', 'day', 1000);
      const get = await licenseeCall(wallet.app, 'GET', '/v1/players/ghost/limits');
      assert.equal(put.statusCode, 404);
      assert.equal(errorCode(put), 'WALLET_ERR_PLAYER_NOT_FOUND');
      assert.equal(get.statusCode, 404);
      assert.equal(errorCode(get), 'WALLET_ERR_PLAYER_NOT_FOUND');
    });

    it('limits need the API key', async () => {
      const playerId = await aPlayer(wallet.app);
      const response = await wallet.app.inject({
        method: 'PUT',
        url: `/v1/players/${playerId}/limits/deposit/day`,
        payload: JSON.stringify({ currency: 'EUR', amountMinor: 1000, changedBy: playerId }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response), 'WALLET_ERR_API_KEY_MISSING');
    });

    it('zero limit blocks every deposit', async () => {
      const playerId = await aPlayer(wallet.app);
      assert.equal((await putLimit(playerId, 'deposit', 'day', 0)).statusCode, 200);
      assert.equal(errorCode(await deposit(playerId, '0.01')), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED');
    });
  });

  it('GET lists all six limits in order', async () => {
    const playerId = await aPlayer(wallet.app);
    clock.set('2031-01-07T10:00:00Z');
    await putLimit(playerId, 'loss', 'month', 90_000);
    const response = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/limits`);

    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.playerId, playerId);
    assert.equal(body.currency, 'EUR');
    assert.equal(body.takenAt, '2031-01-07T10:00:00.000000Z');
    assert.deepEqual(
      body.limits.map((limit: { limitType: string; period: string }) => `${limit.limitType}:${limit.period}`),
      ['deposit:day', 'deposit:week', 'deposit:month', 'loss:day', 'loss:week', 'loss:month'],
    );
    assert.deepEqual(body.limits[5], {
      limitType: 'loss',
      period: 'month',
      currency: 'EUR',
      amountMinor: 90_000,
      pending: null,
      usedMinor: 0,
      remainingMinor: 90_000,
      periodStart: '2031-01-01T00:00:00.000000Z',
      periodEnd: '2031-02-01T00:00:00.000000Z',
    });
  });
});
