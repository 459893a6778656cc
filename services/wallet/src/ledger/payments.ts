import { parseRequestAmount } from './amount.js';
import { hashRequest } from './request-hash.js';
import type { LedgerResponse, LedgerStore, OperationLogger } from './store.js';

interface PaymentCallback {
  paymentReference: string;
  playerId: string;
  traceparent: string;
  logger: OperationLogger;
}

export interface DepositRequest extends PaymentCallback {
  amount: string;
  currency: string;
  method: string;
}

export interface WithdrawalRequest extends PaymentCallback {
  amount: string;
  currency: string;
}

export interface WithdrawalSettlement extends PaymentCallback {
  outcome: 'completed' | 'failed';
  /** Failure reason from the payment provider; required for 'failed'. */
  reason?: string;
}

export function completeDeposit(store: LedgerStore, request: DepositRequest): Promise<LedgerResponse> {
  const amountMinor = parseRequestAmount(request.amount, request.currency);
  const fields = [request.playerId, request.currency, amountMinor, request.method] as const;
  const args = [request.paymentReference, hashRequest('deposit', fields), ...fields];
  return store.execute('wallet_deposit', args, request.traceparent, request.logger);
}

export function requestWithdrawal(store: LedgerStore, request: WithdrawalRequest): Promise<LedgerResponse> {
  const amountMinor = parseRequestAmount(request.amount, request.currency);
  const fields = [request.playerId, request.currency, amountMinor] as const;
  const args = [request.paymentReference, hashRequest('withdrawal', fields), ...fields];
  return store.execute('wallet_request_withdrawal', args, request.traceparent, request.logger);
}

export function settleWithdrawal(store: LedgerStore, request: WithdrawalSettlement): Promise<LedgerResponse> {
  const fields = [request.playerId, request.outcome, request.reason ?? null] as const;
  const args = [request.paymentReference, hashRequest(`withdrawal_${request.outcome}`, fields), ...fields];
  return store.execute('wallet_settle_withdrawal', args, request.traceparent, request.logger);
}
