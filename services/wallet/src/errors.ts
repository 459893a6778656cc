import { CroupierError, formatMinor } from '@croupier/shared';

type Details = Record<string, unknown>;

interface WalletErrorDefinition {
  statusCode: number;
  /** When the error is returned; the README error table repeats these words. */
  when: string;
  message: (details: Details) => string;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** Formats an amount in minor units of `currency` with its code, for example "12.50 EUR". */
function money(amountMinor: unknown, currency: unknown): string {
  if (typeof amountMinor !== 'number' || typeof currency !== 'string') return `${text(amountMinor)} minor units`;
  try {
    return `${formatMinor(amountMinor, currency)} ${currency}`;
  } catch {
    return `${amountMinor} minor units of ${currency}`;
  }
}

function limitExceededMessage(operation: string, usedWord: string, d: Details): string {
  return (
    `${operation} of ${money(d.attemptedMinor, d.currency)} exceeds the ${text(d.period)} ${text(d.limitType)} limit of ` +
    `${money(d.limitMinor, d.currency)}: ${usedWord} ${money(d.usedMinor, d.currency)} in the period that ends ${text(d.periodEnd)}`
  );
}

function exclusionEnd(until: unknown): string {
  return until === null || until === undefined ? 'indefinitely' : `until ${text(until)}`;
}

/**
 * The wallet's error registry. The code is the stable contract that providers
 * and licensees map; messages are for humans and may change. The ledger
 * functions in PostgreSQL return these codes by name.
 */
export const WALLET_ERRORS = {
  WALLET_ERR_VALIDATION: {
    statusCode: 400,
    when: 'the body, path or headers do not match the route schema, or an unknown field is present',
    message: (d) => `request is invalid: ${text(d.reason)}`,
  },
  WALLET_ERR_MALFORMED_JSON: {
    statusCode: 400,
    when: 'the body is not valid JSON',
    message: (d) => `request body is not valid JSON: ${text(d.reason)}`,
  },
  WALLET_ERR_AMOUNT_INVALID: {
    statusCode: 400,
    when: 'the amount is not a positive decimal string, is zero or is too large',
    message: (d) => `amount ${text(d.amount)} is invalid: ${text(d.reason)}`,
  },
  WALLET_ERR_AMOUNT_TOO_PRECISE: {
    statusCode: 400,
    when: 'the amount has more decimal places than the currency allows ("0.001" EUR)',
    message: (d) => `amount ${text(d.amount)} has more decimal places than ${text(d.currency)} allows (${text(d.exponent)})`,
  },
  WALLET_ERR_CURRENCY_UNSUPPORTED: {
    statusCode: 400,
    when: 'the currency is not one the platform supports',
    message: (d) => `currency ${text(d.currency)} is not supported`,
  },
  WALLET_ERR_CURRENCY_MISMATCH: {
    statusCode: 400,
    when: 'the request currency differs from the player currency',
    message: (d) => `currency ${text(d.currency)} does not match the player currency ${text(d.playerCurrency)}`,
  },
  WALLET_ERR_EXCLUSION_INVALID: {
    statusCode: 400,
    when: 'a time-out has no end, or an exclusion ends in the past',
    message: (d) => `exclusion is invalid: ${text(d.reason)}`,
  },
  WALLET_ERR_SIGNATURE_MISSING: {
    statusCode: 401,
    when: 'a provider or payment request has no X-Croupier-Signature header',
    message: () => 'X-Croupier-Signature header is missing; sign the raw body with HMAC-SHA256 as "sha256=<hex>"',
  },
  WALLET_ERR_SIGNATURE_INVALID: {
    statusCode: 401,
    when: 'the signature is malformed or does not match the raw body',
    message: () => 'X-Croupier-Signature does not match the request body',
  },
  WALLET_ERR_PROVIDER_UNKNOWN: {
    statusCode: 401,
    when: 'the provider in the path has no configured secret',
    message: (d) => `provider ${text(d.provider)} is not configured for this brand`,
  },
  WALLET_ERR_API_KEY_MISSING: {
    statusCode: 401,
    when: 'a licensee request has no X-Api-Key header',
    message: () => 'X-Api-Key header is missing',
  },
  WALLET_ERR_API_KEY_INVALID: {
    statusCode: 401,
    when: 'the X-Api-Key header matches no configured key',
    message: () => 'X-Api-Key is not valid for this brand',
  },
  WALLET_ERR_INSUFFICIENT_FUNDS: {
    statusCode: 402,
    when: 'a bet or withdrawal exceeds the available balance; details carry the current balance',
    message: (d) => `insufficient funds: balance is ${text(d.balance)} ${text(d.currency)}`,
  },
  WALLET_ERR_PLAYER_INACTIVE: {
    statusCode: 403,
    when: 'a suspended or closed player bets, deposits or receives a bonus',
    message: (d) => `player ${text(d.playerId)} is ${text(d.status)}`,
  },
  WALLET_ERR_DEPOSIT_LIMIT_EXCEEDED: {
    statusCode: 403,
    when: 'a deposit would take the deposits of a day, week or month over the player\'s deposit limit; details carry the limit, period, used and attempted amounts',
    message: (d) => limitExceededMessage('deposit', 'deposited', d),
  },
  WALLET_ERR_LOSS_LIMIT_EXCEEDED: {
    statusCode: 403,
    when: 'a bet would take the net loss of a day, week or month over the player\'s loss limit; details carry the limit, period, used and attempted amounts',
    message: (d) => limitExceededMessage('bet', 'net loss', d),
  },
  WALLET_ERR_PLAYER_EXCLUDED: {
    statusCode: 403,
    when: 'a player with a time-out or self-exclusion in force bets, deposits or receives a bonus; details carry the exclusion',
    message: (d) => `player ${text(d.playerId)} is excluded (${text(d.kind)}) ${exclusionEnd(d.until)}`,
  },
  WALLET_ERR_PLAYER_NOT_FOUND: {
    statusCode: 404,
    when: 'the player does not exist in this brand',
    message: (d) => `player ${text(d.playerId)} not found`,
  },
  WALLET_ERR_ROUND_NOT_FOUND: {
    statusCode: 404,
    when: 'a win or end-round names a round that has no bet of this player',
    message: (d) => `round ${text(d.roundId)} not found for this player`,
  },
  WALLET_ERR_BET_NOT_FOUND: {
    statusCode: 404,
    when: 'a win names a bet (betTransactionId) that does not exist in that round',
    message: (d) => `bet ${text(d.betTransactionId)} not found in round ${text(d.roundId)}`,
  },
  WALLET_ERR_WITHDRAWAL_NOT_FOUND: {
    statusCode: 404,
    when: 'a withdrawal completion or failure names an unknown payment reference',
    message: (d) => `withdrawal ${text(d.paymentReference)} not found for this player`,
  },
  WALLET_ERR_ROUTE_NOT_FOUND: {
    statusCode: 404,
    when: 'no route matches the method and path',
    message: (d) => `route ${text(d.method)} ${text(d.url)} not found`,
  },
  WALLET_ERR_DUPLICATE_TRANSACTION: {
    statusCode: 409,
    when: 'a transaction id (or payment or bonus reference) is reused with different content',
    message: (d) => `transaction ${text(d.transactionId)} was already processed with different content`,
  },
  WALLET_ERR_BET_ROLLED_BACK: {
    statusCode: 409,
    when: 'a bet arrives after its rollback (tombstone), or a win targets a rolled-back bet',
    message: (d) =>
      d.transactionId === undefined
        ? `every bet of round ${text(d.roundId)} was rolled back`
        : `bet ${text(d.transactionId)} was rolled back`,
  },
  WALLET_ERR_ROUND_SETTLED: {
    statusCode: 409,
    when: 'a rollback targets a bet whose round already has a win or has ended',
    message: (d) => `bet ${text(d.betTransactionId)} cannot be rolled back: round ${text(d.roundId)} is already settled`,
  },
  WALLET_ERR_ROUND_CLOSED: {
    statusCode: 409,
    when: 'a bet, win or end-round arrives for a round that has ended',
    message: (d) => `round ${text(d.roundId)} has ended`,
  },
  WALLET_ERR_ROUND_PLAYER_MISMATCH: {
    statusCode: 409,
    when: 'a bet names a round that belongs to another player',
    message: (d) => `round ${text(d.roundId)} belongs to another player`,
  },
  WALLET_ERR_ROLLBACK_TARGET_INVALID: {
    statusCode: 409,
    when: 'a rollback targets a transaction that is not a bet or belongs to another player',
    message: (d) => `transaction ${text(d.betTransactionId)} is not a bet of this player and cannot be rolled back`,
  },
  WALLET_ERR_WITHDRAWAL_SETTLED: {
    statusCode: 409,
    when: 'a withdrawal is completed or failed after it was already settled the other way',
    message: (d) => `withdrawal ${text(d.paymentReference)} is already ${text(d.withdrawalStatus)}`,
  },
  WALLET_ERR_PLAYER_EXISTS: {
    statusCode: 409,
    when: 'a player is created again with a different currency',
    message: (d) => `player ${text(d.playerId)} already exists with currency ${text(d.currency)}`,
  },
  WALLET_ERR_LIMIT_ORDER_INVALID: {
    statusCode: 409,
    when: 'a limit change would break day <= week <= month for that limit type, now or when a pending change applies',
    message: (d) =>
      `the ${text(d.shorterPeriod)} ${text(d.limitType)} limit of ${money(d.shorterAmountMinor, d.currency)} would exceed ` +
      `the ${text(d.longerPeriod)} limit of ${money(d.longerAmountMinor, d.currency)} at ${text(d.at)}; ` +
      'limits must keep day <= week <= month, so change the other limit first',
  },
  WALLET_ERR_EXCLUSION_ACTIVE: {
    statusCode: 409,
    when: 'a new exclusion would not end later than the one in force; exclusions cannot be shortened or lifted',
    message: (d) => {
      const active = (d.active ?? {}) as Details;
      return (
        `player ${text(d.playerId)} is already excluded (${text(active.kind)}) ${exclusionEnd(active.until)}; ` +
        'a new exclusion must end later'
      );
    },
  },
  WALLET_ERR_BODY_TOO_LARGE: {
    statusCode: 413,
    when: 'the body exceeds WALLET_BODY_LIMIT_BYTES',
    message: (d) => `request body exceeds the limit of ${text(d.limitBytes)} bytes`,
  },
  WALLET_ERR_UNSUPPORTED_MEDIA_TYPE: {
    statusCode: 415,
    when: 'the Content-Type is not application/json',
    message: (d) => `content type ${text(d.contentType)} is not supported; send application/json`,
  },
  WALLET_ERR_INTERNAL: {
    statusCode: 500,
    when: 'an unexpected failure; the log has the cause under the request id',
    message: () => 'internal error; the wallet logged the cause',
  },
  WALLET_ERR_UNAVAILABLE: {
    statusCode: 503,
    when: 'no database connection was free within WALLET_PG_CONNECTION_TIMEOUT_MS, or the database failed; retry after Retry-After seconds',
    message: (d) => `wallet is temporarily unavailable: ${text(d.reason)}; retry later`,
  },
} as const satisfies Record<string, WalletErrorDefinition>;

export type WalletErrorCode = keyof typeof WALLET_ERRORS;

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

export function isWalletErrorCode(code: string): code is WalletErrorCode {
  return Object.hasOwn(WALLET_ERRORS, code);
}

/** Creates the error for `code`; details are returned to the client next to code and message. */
export function walletError(code: WalletErrorCode, details: Details = {}): CroupierError {
  const definition: WalletErrorDefinition = WALLET_ERRORS[code];
  return new CroupierError(code, definition.statusCode, definition.message(details), details);
}

export interface ErrorResponseBody {
  error: { code: string; message: string } & Details;
}

export function errorResponseBody(error: CroupierError): ErrorResponseBody {
  return { error: { ...(error.details ?? {}), code: error.code, message: error.message } };
}
