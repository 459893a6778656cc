import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMinor, MoneyError, parseDecimalAmount } from '../src/contracts/money.js';

function assertMoneyError(action: () => unknown, code: string): void {
  assert.throws(action, (error: unknown) => error instanceof MoneyError && error.code === code, `expected ${code}`);
}

describe('parseDecimalAmount', () => {
  const valid: Array<[string, string, number]> = [
    ['12.34', 'EUR', 1234],
    ['12.3', 'EUR', 1230],
    ['12', 'EUR', 1200],
    ['0.01', 'EUR', 1],
    ['12.340', 'EUR', 1234],
    ['500', 'JPY', 500],
    ['500.0', 'JPY', 500],
    ['1.234', 'KWD', 1234],
    ['0', 'EUR', 0],
  ];
  for (const [amount, currency, expectedMinor] of valid) {
    it(`reads ${amount} ${currency} as ${expectedMinor} minor units`, () => {
      assert.equal(parseDecimalAmount(amount, currency), expectedMinor);
    });
  }

  it('rejects more decimals than the currency has', () => {
    assertMoneyError(() => parseDecimalAmount('0.001', 'EUR'), 'AMOUNT_TOO_PRECISE');
    assertMoneyError(() => parseDecimalAmount('1.5', 'JPY'), 'AMOUNT_TOO_PRECISE');
    assertMoneyError(() => parseDecimalAmount('1.2345', 'KWD'), 'AMOUNT_TOO_PRECISE');
  });

  it('rejects malformed and signed amounts', () => {
    for (const amount of ['', '-1', '+1', '1e3', '1,00', ' 1', '1.', '.5', 'NaN', '0x10']) {
      assertMoneyError(() => parseDecimalAmount(amount, 'EUR'), 'AMOUNT_INVALID');
    }
  });

  it('rejects amounts beyond the safe integer range', () => {
    assertMoneyError(() => parseDecimalAmount('9999999999999999', 'EUR'), 'AMOUNT_OUT_OF_RANGE');
  });

  it('rejects an unsupported currency', () => {
    assertMoneyError(() => parseDecimalAmount('1', 'XXX'), 'CURRENCY_UNSUPPORTED');
  });
});

describe('formatMinor', () => {
  it('formats with the currency exponent', () => {
    assert.equal(formatMinor(1234, 'EUR'), '12.34');
    assert.equal(formatMinor(5, 'EUR'), '0.05');
    assert.equal(formatMinor(500, 'JPY'), '500');
    assert.equal(formatMinor(1, 'KWD'), '0.001');
    assert.equal(formatMinor(-250, 'EUR'), '-2.50');
  });

  it('round-trips with parseDecimalAmount', () => {
    for (const minor of [0, 1, 99, 100, 123456789, Number.MAX_SAFE_INTEGER]) {
      assert.equal(parseDecimalAmount(formatMinor(minor, 'EUR'), 'EUR'), minor, `round trip of ${minor}`);
    }
  });
});
