import { currencyExponent, MoneyError, parseDecimalAmount } from '@croupier/shared';
import { walletError } from '../errors.js';

/**
 * Converts a request amount ("12.50") to minor units of `currency`. Rejects
 * unsupported currencies, malformed, zero, too large and too precise amounts
 * with their registry codes, naming the offending value.
 */
export function parseRequestAmount(amount: string, currency: string): number {
  const exponent = requireCurrencyExponent(currency);
  let amountMinor: number;
  try {
    amountMinor = parseDecimalAmount(amount, currency);
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    if (error.code === 'AMOUNT_TOO_PRECISE') {
      throw walletError('WALLET_ERR_AMOUNT_TOO_PRECISE', { amount, currency, exponent });
    }
    const reason = error.code === 'AMOUNT_OUT_OF_RANGE' ? 'it is too large' : 'expected a decimal string such as "12.50"';
    throw walletError('WALLET_ERR_AMOUNT_INVALID', { amount, currency, reason });
  }

  if (amountMinor === 0) {
    throw walletError('WALLET_ERR_AMOUNT_INVALID', { amount, currency, reason: 'it must be greater than zero' });
  }
  return amountMinor;
}

export function requireCurrencyExponent(currency: string): number {
  try {
    return currencyExponent(currency);
  } catch (error) {
    if (error instanceof MoneyError) throw walletError('WALLET_ERR_CURRENCY_UNSUPPORTED', { currency });
    throw error;
  }
}
