import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createTestVhost, infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { aBet, aPlayer, aRollback, aWin, uniqueId } from './support/builders.js';
import { controlWalletClock, type WalletClock } from './support/clock.js';
import { createTestDatabase } from './support/database.js';
import { collectEvents, type EventCollector } from './support/events.js';
import { assertLedgerInvariants } from './support/ledger-invariants.js';
import { errorCode, licenseeCall, paymentCall, providerCall, startTestWallet, type TestWallet } from './support/wallet.js';

describe('time-outs and self-exclusions', () => {
  const cleanups: (() => Promise<void>)[] = [];
  let wallet: TestWallet;
  let clock: WalletClock;
  let collector: EventCollector;

  before(async () => {
    const settings = infraSettings();
    const brand = uniqueBrand('wallet');
    const database = await createTestDatabase(settings.pgUrl);
    cleanups.push(database.drop);
    const vhost = await createTestVhost(settings, brand);
    cleanups.unshift(vhost.remove);
    collector = await collectEvents(vhost.amqpUrl);
    cleanups.unshift(collector.close);
    wallet = await startTestWallet({ databaseUrl: database.url, brand, amqpUrl: vhost.amqpUrl });
    cleanups.unshift(wallet.close);
    clock = controlWalletClock(wallet.pool);
  });

  beforeEach(() => clock.set(null));

  after(async () => {
    clock.set(null);
    await assertLedgerInvariants(wallet.pool);
    for (const cleanup of cleanups) await cleanup();
  });

  function exclude(playerId: string, kind: string, until: string | null, changedBy = playerId) {
    return licenseeCall(wallet.app, 'POST', `/v1/players/${playerId}/exclusions`, { kind, until, changedBy });
  }

  function deposit(playerId: string, amount = '10.00') {
    return paymentCall(wallet.app, 'deposit-completed', { paymentReference: uniqueId('dep'), playerId, amount, currency: 'EUR', method: 'card' });
  }

  async function exclusionEvents(playerId: string): Promise<Record<string, unknown>[]> {
    const result = await wallet.pool.query<{ envelope: { data: Record<string, unknown> } }>(
      "SELECT envelope FROM outbox WHERE player_id = $1 AND event_type = 'PlayerExclusionStarted' ORDER BY outbox_id",
      [playerId],
    );
    return result.rows.map((row) => row.envelope.data);
  }

  it('self-excluded player settles open round only', async () => {
    const playerId = await aPlayer(wallet.app, { deposit: '50.00' });
    const openBet = aBet(playerId, { amount: '5.00' });
    const otherBet = aBet(playerId, { amount: '2.00' });
    assert.equal((await providerCall(wallet.app, 'bet', openBet)).statusCode, 200, 'bet before the exclusion');
    assert.equal((await providerCall(wallet.app, 'bet', otherBet)).statusCode, 200, 'second bet before the exclusion');

    const started = await exclude(playerId, 'self_exclusion', null);
    assert.equal(started.statusCode, 201, started.body);
    assert.equal(started.json().kind, 'self_exclusion');
    assert.equal(started.json().until, null, 'indefinite');

    const newBet = await providerCall(wallet.app, 'bet', aBet(playerId, { amount: '1.00' }));
    assert.equal(newBet.statusCode, 403);
    assert.equal(errorCode(newBet), 'WALLET_ERR_PLAYER_EXCLUDED');
    assert.equal(newBet.json().error.message, `player ${playerId} is excluded (self_exclusion) indefinitely`);
    assert.equal(newBet.json().error.until, null);
    const betIntoOpenRound = await providerCall(wallet.app, 'bet', aBet(playerId, { roundId: openBet.roundId }));
    assert.equal(errorCode(betIntoOpenRound), 'WALLET_ERR_PLAYER_EXCLUDED', 'no new stake in an open round either');

    const win = await providerCall(wallet.app, 'win', aWin(openBet, { amount: '12.00', endRound: true }));
    assert.equal(win.statusCode, 200, win.body);
    const rollback = await providerCall(wallet.app, 'rollback', aRollback(otherBet));
    assert.equal(rollback.statusCode, 200, rollback.body);
    assert.equal(rollback.json().balance, '57.00', '50 - 5 - 2 + 12 + 2');

    assert.equal(errorCode(await deposit(playerId)), 'WALLET_ERR_PLAYER_EXCLUDED', 'deposits are rejected');
    const bonus = await licenseeCall(wallet.app, 'POST', `/v1/players/${playerId}/bonus-credits`, {
      bonusReference: uniqueId('bonus'),
      amount: '5.00',
      currency: 'EUR',
    });
    assert.equal(errorCode(bonus), 'WALLET_ERR_PLAYER_EXCLUDED', 'bonus credits are rejected');
    const withdrawal = await paymentCall(wallet.app, 'withdrawal-requested', {
      paymentReference: uniqueId('wd'),
      playerId,
      amount: '57.00',
      currency: 'EUR',
    });
    assert.equal(withdrawal.statusCode, 200, 'the player may withdraw');
  });

  it('bet replay from before the exclusion still answers', async () => {
    const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
    const bet = aBet(playerId);
    const first = await providerCall(wallet.app, 'bet', bet);
    await exclude(playerId, 'self_exclusion', null);
    const replay = await providerCall(wallet.app, 'bet', bet);
    assert.equal(replay.statusCode, 200);
    assert.equal(replay.body, first.body, 'the stored response');
  });

  it('time-out ends at its until', async () => {
    const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
    clock.set('2031-01-07T10:00:00Z');
    const started = await exclude(playerId, 'timeout', '2031-01-07T11:00:00Z');
    assert.equal(started.statusCode, 201, started.body);
    assert.deepEqual(started.json(), {
      kind: 'timeout',
      startedAt: '2031-01-07T10:00:00.000000Z',
      until: '2031-01-07T11:00:00.000000Z',
      changedBy: playerId,
    });

    clock.set('2031-01-07T10:59:59.999999Z');
    const during = await providerCall(wallet.app, 'bet', aBet(playerId));
    assert.equal(errorCode(during), 'WALLET_ERR_PLAYER_EXCLUDED', 'bet during the time-out');
    assert.equal(
      during.json().error.message,
      `player ${playerId} is excluded (timeout) until 2031-01-07T11:00:00.000000Z`,
    );
    assert.equal(errorCode(await deposit(playerId)), 'WALLET_ERR_PLAYER_EXCLUDED', 'deposit during the time-out');

    clock.set('2031-01-07T11:00:00Z');
    assert.equal((await providerCall(wallet.app, 'bet', aBet(playerId))).statusCode, 200, 'bet once it ended');
    assert.equal((await deposit(playerId)).statusCode, 200, 'deposit once it ended');
    const status = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/exclusions`);
    assert.equal(status.json().active, null, 'nothing in force');
    assert.equal(status.json().exclusions.length, 1, 'the time-out stays in the history');
  });

  it('exclusion cannot be shortened or lifted', async () => {
    const playerId = await aPlayer(wallet.app);
    clock.set('2031-01-07T10:00:00Z');
    assert.equal((await exclude(playerId, 'self_exclusion', '2031-02-07T10:00:00Z')).statusCode, 201);

    const shorterTimeout = await exclude(playerId, 'timeout', '2031-01-08T10:00:00Z');
    assert.equal(shorterTimeout.statusCode, 409);
    assert.equal(errorCode(shorterTimeout), 'WALLET_ERR_EXCLUSION_ACTIVE');
    assert.equal(
      shorterTimeout.json().error.message,
      `player ${playerId} is already excluded (self_exclusion) until 2031-02-07T10:00:00.000000Z; a new exclusion must end later`,
    );
    assert.deepEqual(shorterTimeout.json().error.active, {
      kind: 'self_exclusion',
      startedAt: '2031-01-07T10:00:00.000000Z',
      until: '2031-02-07T10:00:00.000000Z',
      changedBy: playerId,
    });
    assert.equal(errorCode(await exclude(playerId, 'self_exclusion', '2031-02-07T10:00:00Z')), 'WALLET_ERR_EXCLUSION_ACTIVE', 'same end');

    assert.equal((await exclude(playerId, 'self_exclusion', '2031-06-07T10:00:00Z')).statusCode, 201, 'extension');
    assert.equal((await exclude(playerId, 'self_exclusion', null, 'staff:carol')).statusCode, 201, 'indefinite');
    assert.equal(errorCode(await exclude(playerId, 'self_exclusion', null)), 'WALLET_ERR_EXCLUSION_ACTIVE', 'nothing ends later');
    const lift = await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/exclusions`, { kind: 'none' });
    assert.equal(lift.statusCode, 404, 'there is no route that lifts an exclusion');

    clock.set('2032-01-01T00:00:00Z');
    const status = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/exclusions`);
    assert.equal(status.statusCode, 200, status.body);
    assert.deepEqual(status.json().active, {
      kind: 'self_exclusion',
      startedAt: '2031-01-07T10:00:00.000000Z',
      until: null,
      changedBy: 'staff:carol',
    });
    assert.deepEqual(
      status.json().exclusions.map((exclusion: { until: string | null }) => exclusion.until),
      [null, '2031-06-07T10:00:00.000000Z', '2031-02-07T10:00:00.000000Z'],
      'history, newest first',
    );
    assert.equal(status.json().takenAt, '2032-01-01T00:00:00.000000Z');
  });

  it('exclusion is audited and published', async () => {
    const playerId = await aPlayer(wallet.app);
    clock.set('2031-01-07T10:00:00Z');
    await exclude(playerId, 'timeout', '2031-01-08T10:00:00Z');
    await exclude(playerId, 'self_exclusion', '2031-07-07T10:00:00Z', 'staff:dan');

    const audit = await wallet.pool.query(
      `SELECT a.action, a.limit_type, a.currency, a.previous_value, a.new_value, a.changed_by, a.changed_at, o.event_type
       FROM responsible_gaming_audit a JOIN outbox o ON o.event_id = a.event_id
       WHERE a.player_id = $1 ORDER BY a.audit_id`,
      [playerId],
    );
    assert.equal(audit.rowCount, 2, 'one audit row per exclusion');
    assert.deepEqual(audit.rows[1], {
      action: 'exclusion_started',
      limit_type: null,
      currency: 'EUR',
      previous_value: {
        kind: 'timeout',
        startedAt: '2031-01-07T10:00:00.000000Z',
        until: '2031-01-08T10:00:00.000000Z',
        changedBy: playerId,
      },
      new_value: {
        kind: 'self_exclusion',
        startedAt: '2031-01-07T10:00:00.000000Z',
        until: '2031-07-07T10:00:00.000000Z',
        changedBy: 'staff:dan',
      },
      changed_by: 'staff:dan',
      changed_at: new Date('2031-01-07T10:00:00Z'),
      event_type: 'PlayerExclusionStarted',
    });
    assert.deepEqual(await exclusionEvents(playerId), [
      { kind: 'timeout', startedAt: '2031-01-07T10:00:00.000000Z', until: '2031-01-08T10:00:00.000000Z', changedBy: playerId },
      { kind: 'self_exclusion', startedAt: '2031-01-07T10:00:00.000000Z', until: '2031-07-07T10:00:00.000000Z', changedBy: 'staff:dan' },
    ]);
  });

  it('limit and exclusion events reach the bus', async () => {
    const playerId = await aPlayer(wallet.app);
    clock.set('2031-01-07T10:00:00Z');
    await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/limits/deposit/day`, { currency: 'EUR', amountMinor: 1000, changedBy: playerId });
    await licenseeCall(wallet.app, 'PUT', `/v1/players/${playerId}/limits/deposit/day`, { currency: 'EUR', amountMinor: 2000, changedBy: playerId });
    clock.set('2031-01-08T10:00:00Z');
    assert.equal(errorCode(await deposit(playerId, '30.00')), 'WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED', 'rejected by the raised limit');
    await exclude(playerId, 'timeout', '2031-01-09T10:00:00Z');

    const ofPlayer = () => collector.events.filter((event) => event.playerId === playerId);
    await collector.waitFor(() => ofPlayer().length >= 4, 5000);
    assert.deepEqual(collector.invalid, [], 'every event matches its contract');
    const events = ofPlayer();
    assert.deepEqual(
      events.map((event) => (event.type === 'PlayerLimitChanged' ? `${event.type}:${event.data.pending}` : event.type)),
      ['PlayerLimitChanged:false', 'PlayerLimitChanged:true', 'PlayerLimitChanged:false', 'PlayerExclusionStarted'],
    );
    const sent = await wallet.pool.query('SELECT count(*)::int AS unsent FROM outbox WHERE player_id = $1 AND sent_at IS NULL', [playerId]);
    assert.equal(sent.rows[0].unsent, 0, 'every outbox row marked sent');
  });

  describe('bad input', () => {
    const cases: { name: string; body: object; status: number; code: string; pattern: RegExp }[] = [
      { name: 'time-out without end', body: { kind: 'timeout', until: null }, status: 400, code: 'WALLET_ERR_EXCLUSION_INVALID', pattern: /a time-out needs an end time/ },
      { name: 'end in the past', body: { kind: 'timeout', until: '2020-01-01T00:00:00Z' }, status: 400, code: 'WALLET_ERR_EXCLUSION_INVALID', pattern: /until must be in the future/ },
      { name: 'unknown kind', body: { kind: 'cool_down' }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /body\/kind/ },
      { name: 'until not a timestamp', body: { until: 'next week' }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /body\/until/ },
      { name: 'until missing', body: { until: undefined }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /until/ },
      { name: 'changedBy missing', body: { changedBy: undefined }, status: 400, code: 'WALLET_ERR_VALIDATION', pattern: /changedBy/ },
    ];
    for (const { name, body, status, code, pattern } of cases) {
      it(`exclusion with ${name} is rejected`, async () => {
        const playerId = await aPlayer(wallet.app);
        const response = await licenseeCall(wallet.app, 'POST', `/v1/players/${playerId}/exclusions`, {
          kind: 'self_exclusion',
          until: '2099-01-01T00:00:00Z',
          changedBy: playerId,
          ...body,
        });
        assert.equal(response.statusCode, status, response.body);
        assert.equal(errorCode(response), code);
        assert.match(response.json().error.message, pattern);

        const listed = await licenseeCall(wallet.app, 'GET', `/v1/players/${playerId}/exclusions`);
        assert.deepEqual(listed.json().exclusions, [], 'nothing stored');
        assert.deepEqual(await exclusionEvents(playerId), [], 'nothing published');
      });
    }

    it('exclusion of unknown player is 404', async () => {
      const response = await exclude('ghost', 'self_exclusion', null);
      assert.equal(response.statusCode, 404);
      assert.equal(errorCode(response), 'WALLET_ERR_PLAYER_NOT_FOUND');
    });
  });
});
