/**
 * Money is carried as integer minor units (cents for EUR) together with the
 * currency code. Floats never hold an amount anywhere in Croupier.
 */

/** ISO 4217 minor-unit exponents of the currencies a brand may enable. */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  EUR: 2,
  USD: 2,
  GBP: 2,
  CAD: 2,
  SEK: 2,
  NOK: 2,
  DKK: 2,
  CHF: 2,
  BRL: 2,
  JPY: 0,
  KRW: 0,
  CLP: 0,
  KWD: 3,
  BHD: 3,
});

export type MoneyErrorCode = 'CURRENCY_UNSUPPORTED' | 'AMOUNT_INVALID' | 'AMOUNT_TOO_PRECISE' | 'AMOUNT_OUT_OF_RANGE';

export class MoneyError extends Error {
  constructor(
    readonly code: MoneyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MoneyError';
  }
}

/** Largest amount in minor units that survives JSON and PostgreSQL bigint alike. */
export const MAX_AMOUNT_MINOR = Number.MAX_SAFE_INTEGER;

export function currencyExponent(currency: string): number {
  const exponent = CURRENCY_EXPONENTS[currency];
  if (exponent === undefined) {
    throw new MoneyError('CURRENCY_UNSUPPORTED', `currency ${JSON.stringify(currency)} is not supported`);
  }
  return exponent;
}

/**
 * Parses a decimal amount string such as "12.34" into minor units, rejecting
 * more fractional digits than the currency has ("0.001" EUR) instead of rounding.
 */
export function parseDecimalAmount(amount: string, currency: string): number {
  const exponent = currencyExponent(currency);
  const match = /^(\d{1,16})(?:\.(\d+))?$/.exec(amount);
  if (match === null) {
    throw new MoneyError('AMOUNT_INVALID', `amount ${JSON.stringify(amount)} is not a non-negative decimal number`);
  }

  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  const significantFraction = fraction.replace(/0+$/, '');
  if (significantFraction.length > exponent) {
    throw new MoneyError(
      'AMOUNT_TOO_PRECISE',
      `amount ${amount} has more decimal places than ${currency} allows (${exponent})`,
    );
  }

  const minor = BigInt(whole) * 10n ** BigInt(exponent) + BigInt(significantFraction.padEnd(exponent, '0') || '0');
  if (minor > BigInt(MAX_AMOUNT_MINOR)) {
    throw new MoneyError('AMOUNT_OUT_OF_RANGE', `amount ${amount} ${currency} is too large`);
  }
  return Number(minor);
}

/** Formats minor units as a decimal string with exactly the currency's decimal places. */
export function formatMinor(amountMinor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = amountMinor < 0;
  const digits = Math.abs(amountMinor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
