import { parseRequestAmount } from './amount.js';
import { hashRequest } from './request-hash.js';
import type { LedgerResponse, LedgerStore, OperationLogger } from './store.js';

/** Fields every provider callback carries, after route validation. */
export interface ProviderCallback {
  provider: string;
  playerId: string;
  transactionId: string;
  traceparent: string;
  logger: OperationLogger;
}

export interface BetRequest extends ProviderCallback {
  roundId: string;
  gameId: string;
  amount: string;
  currency: string;
}

export interface WinRequest extends BetRequest {
  betTransactionId?: string;
  endRound?: boolean;
}

export interface RollbackRequest extends ProviderCallback {
  betTransactionId: string;
  roundId: string;
  gameId: string;
}

export interface EndRoundRequest extends ProviderCallback {
  roundId: string;
  gameId: string;
}

export function placeBet(store: LedgerStore, request: BetRequest): Promise<LedgerResponse> {
  const amountMinor = parseRequestAmount(request.amount, request.currency);
  const fields = [request.playerId, request.roundId, request.gameId, request.currency, amountMinor] as const;
  const args = [request.provider, request.transactionId, hashRequest('bet', fields), ...fields];
  return store.execute('wallet_bet', args, request.traceparent, request.logger);
}

export function creditWin(store: LedgerStore, request: WinRequest): Promise<LedgerResponse> {
  const amountMinor = parseRequestAmount(request.amount, request.currency);
  const fields = [
    request.playerId,
    request.roundId,
    request.gameId,
    request.currency,
    amountMinor,
    request.betTransactionId ?? null,
    request.endRound ?? false,
  ] as const;
  const args = [request.provider, request.transactionId, hashRequest('win', fields), ...fields];
  return store.execute('wallet_win', args, request.traceparent, request.logger);
}

export function rollBackBet(store: LedgerStore, request: RollbackRequest): Promise<LedgerResponse> {
  const fields = [request.playerId, request.betTransactionId, request.roundId, request.gameId] as const;
  const args = [request.provider, request.transactionId, hashRequest('rollback', fields), ...fields];
  return store.execute('wallet_rollback', args, request.traceparent, request.logger);
}

export function endRound(store: LedgerStore, request: EndRoundRequest): Promise<LedgerResponse> {
  const fields = [request.playerId, request.roundId, request.gameId] as const;
  const args = [request.provider, request.transactionId, hashRequest('end_round', fields), ...fields];
  return store.execute('wallet_end_round', args, request.traceparent, request.logger);
}
