import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { licenseeCall, paymentCall } from './wallet.js';

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export interface BetBody {
  playerId: string;
  transactionId: string;
  roundId: string;
  gameId: string;
  amount: string;
  currency: string;
}

/** Builds a valid bet body with any field overridden. */
export function aBet(playerId: string, overrides: Partial<BetBody> = {}): BetBody {
  return {
    playerId,
    transactionId: uniqueId('bet'),
    roundId: uniqueId('round'),
    gameId: 'starburst',
    amount: '1.00',
    currency: 'EUR',
    ...overrides,
  };
}

export function aWin(bet: BetBody, overrides: Partial<BetBody & { betTransactionId: string; endRound: boolean }> = {}) {
  return {
    playerId: bet.playerId,
    transactionId: uniqueId('win'),
    roundId: bet.roundId,
    gameId: bet.gameId,
    amount: '2.00',
    currency: bet.currency,
    ...overrides,
  };
}

export function aRollback(bet: Pick<BetBody, 'playerId' | 'transactionId' | 'roundId' | 'gameId'>, transactionId = uniqueId('rollback')) {
  return {
    playerId: bet.playerId,
    transactionId,
    betTransactionId: bet.transactionId,
    roundId: bet.roundId,
    gameId: bet.gameId,
  };
}

/** Creates a player and deposits `deposit` (a decimal string) when given. */
export async function aPlayer(
  app: FastifyInstance,
  options: { currency?: string; deposit?: string; bonus?: string } = {},
): Promise<string> {
  const playerId = uniqueId('player');
  const currency = options.currency ?? 'EUR';
  const created = await licenseeCall(app, 'POST', '/v1/players', { playerId, currency });
  assert.equal(created.statusCode, 201, `player creation failed: ${created.body}`);

  if (options.deposit !== undefined) {
    const deposit = await paymentCall(app, 'deposit-completed', {
      paymentReference: uniqueId('dep'),
      playerId,
      amount: options.deposit,
      currency,
      method: 'card',
    });
    assert.equal(deposit.statusCode, 200, `deposit failed: ${deposit.body}`);
  }
  if (options.bonus !== undefined) {
    const bonus = await licenseeCall(app, 'POST', `/v1/players/${playerId}/bonus-credits`, {
      bonusReference: uniqueId('bonus'),
      amount: options.bonus,
      currency,
    });
    assert.equal(bonus.statusCode, 200, `bonus credit failed: ${bonus.body}`);
  }
  return playerId;
}
