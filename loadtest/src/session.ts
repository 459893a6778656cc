import { randomUUID } from 'node:crypto';
import type { TransactionBody, WalletApi, WalletReply } from './wallet-api.js';
import { DEMO_PROVIDER } from './stack/brand-stack.js';

/** Outcome of replaying provider sessions, as reported by the wallet's responses. */
export interface SessionTally {
  /** Calls the wallet applied (replays excluded). Not every one changes a balance: end-round does not. */
  appliedCalls: number;
  /** Retried callbacks that the wallet replayed from its idempotency record. */
  replays: number;
  /** Calls that returned an error the scenario did not expect, by code. */
  unexpectedErrors: Map<string, number>;
  /** Highest balanceVersion the wallet reported per player; pushes must reach it. */
  finalVersions: Map<string, number>;
}

export function emptyTally(): SessionTally {
  return { appliedCalls: 0, replays: 0, unexpectedErrors: new Map(), finalVersions: new Map() };
}

export interface SessionOptions {
  currency: string;
  /** Bet-and-win rounds per player on top of the scripted steps. */
  extraRounds: number;
  /** Pause between a player's calls, drawn from 0 to this, so players interleave like real traffic. */
  thinkTimeMsMax: number;
}

/**
 * Replays one player's provider session against the wallet: a deposit, bets
 * and wins, a callback retried with the same transaction id, a rollback, a
 * bonus credit and a withdrawal. Every step checks the wallet's response.
 */
export async function playSession(api: WalletApi, playerId: string, options: SessionOptions, tally: SessionTally): Promise<void> {
  const { currency } = options;
  const record = (reply: WalletReply<TransactionBody>, expectReplay = false): void => recordReply(playerId, reply, expectReplay, tally);
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.random() * options.thinkTimeMsMax));
  const round = (): { provider: string; playerId: string; roundId: string; gameId: string } => ({
    provider: DEMO_PROVIDER,
    playerId,
    roundId: `round-${randomUUID()}`,
    gameId: 'starlight-slots',
  });

  record(await api.depositCompleted(playerId, `dep-${randomUUID()}`, '50.00', currency));
  await pause();

  const wonRound = round();
  const wonBet = { ...wonRound, transactionId: `bet-${randomUUID()}` };
  record(await api.bet(wonBet, '1.00', currency));
  await pause();
  record(await api.win({ ...wonRound, transactionId: `win-${randomUUID()}` }, '2.50', currency, { betTransactionId: wonBet.transactionId, endRound: true }));
  await pause();

  // The provider did not receive the first response and sends the same bet again.
  const retriedRound = round();
  const retriedBet = { ...retriedRound, transactionId: `bet-${randomUUID()}` };
  record(await api.bet(retriedBet, '2.00', currency));
  record(await api.bet(retriedBet, '2.00', currency), true);
  await pause();
  record(await api.endRound({ ...retriedRound, transactionId: `end-${randomUUID()}` }));
  await pause();

  const cancelledRound = round();
  const cancelledBet = { ...cancelledRound, transactionId: `bet-${randomUUID()}` };
  record(await api.bet(cancelledBet, '5.00', currency));
  await pause();
  record(await api.rollback({ ...cancelledRound, transactionId: `rb-${randomUUID()}` }, cancelledBet.transactionId));
  await pause();

  record(await api.creditBonus(playerId, `bonus-${randomUUID()}`, '5.00', currency));
  await pause();

  for (let index = 0; index < options.extraRounds; index += 1) {
    const extraRound = round();
    const bet = { ...extraRound, transactionId: `bet-${randomUUID()}` };
    record(await api.bet(bet, '0.50', currency));
    await pause();
    record(await api.win({ ...extraRound, transactionId: `win-${randomUUID()}` }, '0.40', currency, { betTransactionId: bet.transactionId, endRound: true }));
    await pause();
  }

  const withdrawalReference = `wd-${randomUUID()}`;
  record(await api.withdrawalRequested(playerId, withdrawalReference, '10.00', currency));
  await pause();
  record(await api.withdrawalCompleted(playerId, withdrawalReference));
}

function recordReply(playerId: string, reply: WalletReply<TransactionBody>, expectReplay: boolean, tally: SessionTally): void {
  if (reply.statusCode !== 200) {
    const code = reply.body.error?.code ?? `HTTP_${reply.statusCode}`;
    tally.unexpectedErrors.set(code, (tally.unexpectedErrors.get(code) ?? 0) + 1);
    return;
  }
  if (reply.replayed !== expectReplay) {
    const code = expectReplay ? 'RETRY_NOT_REPLAYED' : 'UNEXPECTED_REPLAY';
    tally.unexpectedErrors.set(code, (tally.unexpectedErrors.get(code) ?? 0) + 1);
  }
  if (reply.replayed) tally.replays += 1;
  else tally.appliedCalls += 1;
  tally.finalVersions.set(playerId, Math.max(tally.finalVersions.get(playerId) ?? 0, reply.body.balanceVersion));
}

/** Runs `task` for every item with at most `concurrency` running at once. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await task(item);
    }
  });
  await Promise.all(workers);
}
