import { parseRequestAmount } from './amount.js';
import { hashRequest } from './request-hash.js';
import type { LedgerResponse, LedgerStore, OperationLogger } from './store.js';

export interface BonusCreditRequest {
  bonusReference: string;
  playerId: string;
  amount: string;
  currency: string;
  traceparent: string;
  logger: OperationLogger;
}

/** Credits the bonus balance, which bets use only after cash and which is never withdrawable. */
export function creditBonus(store: LedgerStore, request: BonusCreditRequest): Promise<LedgerResponse> {
  const amountMinor = parseRequestAmount(request.amount, request.currency);
  const fields = [request.playerId, request.currency, amountMinor] as const;
  const args = [request.bonusReference, hashRequest('bonus', fields), ...fields];
  return store.execute('wallet_credit_bonus', args, request.traceparent, request.logger);
}
