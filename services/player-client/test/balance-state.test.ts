import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BalanceSnapshot, BalanceUpdate } from '@croupier/shared/contracts';
import { BalanceState } from '../src/balance-state.js';
import { noticeDelayMs, retryDelayMs } from '../src/reconnect-delay.js';

function buildSnapshot(balanceVersion: number, cashMinor = balanceVersion * 100): BalanceSnapshot {
  return { playerId: 'player-1', currency: 'EUR', cashMinor, bonusMinor: 0, balanceVersion, takenAt: new Date().toISOString() };
}

function buildUpdate(balanceVersion: number, cashMinor = balanceVersion * 100): BalanceUpdate {
  return {
    eventId: `event-${balanceVersion}`,
    playerId: 'player-1',
    currency: 'EUR',
    cashMinor,
    bonusMinor: 0,
    balanceVersion,
    reason: 'bet',
    committedAt: new Date().toISOString(),
  };
}

describe('BalanceState', () => {
  test('first snapshot applied', () => {
    const state = new BalanceState();

    assert.equal(state.applySnapshot(buildSnapshot(3)), 'applied', 'nothing held yet');
    assert.equal(state.current?.balanceVersion, 3, 'holds version 3');
  });

  test('update before any snapshot applied', () => {
    const state = new BalanceState();

    assert.equal(state.applyUpdate(buildUpdate(2)), 'applied', 'a push may beat the snapshot');
    assert.equal(state.current?.balanceVersion, 2, 'holds version 2');
  });

  test('newer update applied', () => {
    const state = new BalanceState();
    state.applySnapshot(buildSnapshot(3));

    assert.equal(state.applyUpdate(buildUpdate(4, 777)), 'applied', 'version 4 is newer');
    assert.equal(state.current?.cashMinor, 777, 'cash follows the update');
  });

  test('older and equal updates ignored', () => {
    const state = new BalanceState();
    state.applySnapshot(buildSnapshot(5, 500));

    assert.equal(state.applyUpdate(buildUpdate(4, 1)), 'stale', 'version 4 is older');
    assert.equal(state.applyUpdate(buildUpdate(5, 2)), 'stale', 'version 5 is a duplicate');
    assert.equal(state.current?.cashMinor, 500, 'cash unchanged');
    assert.equal(state.stats.staleIgnored, 2, 'both counted as stale');
  });

  test('stale snapshot does not roll back', () => {
    const state = new BalanceState();
    state.applyUpdate(buildUpdate(9, 900));

    assert.equal(state.applySnapshot(buildSnapshot(7, 1)), 'stale', 'version 7 is older than 9');
    assert.equal(state.current?.balanceVersion, 9, 'still version 9');
    assert.equal(state.current?.cashMinor, 900, 'still the version 9 cash');
  });

  test('snapshot of the same version applied', () => {
    const state = new BalanceState();
    state.applyUpdate(buildUpdate(9, 900));

    assert.equal(state.applySnapshot(buildSnapshot(9, 900)), 'applied', 'same committed state');
    assert.equal(state.stats.staleIgnored, 0, 'not counted as stale');
  });

  test('malformed payloads ignored', () => {
    const state = new BalanceState();
    state.applySnapshot(buildSnapshot(2));
    const noVersion = { ...buildUpdate(3), balanceVersion: undefined } as unknown as BalanceUpdate;
    const fractionalCash = { ...buildUpdate(3), cashMinor: 1.5 };

    assert.equal(state.applyUpdate(noVersion), 'malformed', 'a missing version is malformed');
    assert.equal(state.applyUpdate(fractionalCash), 'malformed', 'a fractional amount is malformed');
    assert.equal(state.current?.balanceVersion, 2, 'still version 2');
    assert.equal(state.stats.malformedIgnored, 2, 'both counted');
  });

  test('returned balance is a copy', () => {
    const state = new BalanceState();
    state.applySnapshot(buildSnapshot(2, 200));
    const copy = state.current;
    if (copy !== undefined) copy.cashMinor = 0;

    assert.equal(state.current?.cashMinor, 200, 'callers cannot change the held balance');
  });
});

describe('reconnect delays', () => {
  const options = { reconnectionDelayMs: 100, reconnectionDelayMaxMs: 1000, randomizationFactor: 0.5 };

  test('retry delay doubles up to the max', () => {
    const middle = (): number => 0.5;

    assert.equal(retryDelayMs(1, options, middle), 100, 'first retry uses the base delay');
    assert.equal(retryDelayMs(2, options, middle), 200, 'second retry doubles');
    assert.equal(retryDelayMs(10, options, middle), 1000, 'later retries stop at the max');
  });

  test('retry delay jitter stays in range', () => {
    assert.equal(retryDelayMs(2, options, () => 0), 100, 'lowest draw removes half');
    assert.equal(retryDelayMs(2, options, () => 1), 300, 'highest draw adds half');
    assert.equal(retryDelayMs(10, options, () => 1), 1000, 'jitter never passes the max');
  });

  test('notice delay adds jitter on top', () => {
    assert.equal(noticeDelayMs(1000, 0.5, () => 0), 1000, 'never earlier than suggested');
    assert.equal(noticeDelayMs(1000, 0.5, () => 1), 1500, 'at most half later');
    assert.equal(noticeDelayMs(-5, 0.5, () => 1), 0, 'a negative suggestion means now');
  });
});
