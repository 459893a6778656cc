import { backoffDelayMs, CroupierError, sleep } from '@croupier/shared';
import type { BalanceSnapshot, PlayerTransaction, TransactionKind } from '@croupier/shared/contracts';
import type { Logger } from 'pino';
import type { WalletClientConfig } from './config.js';
import { gatewayErrors } from './errors.js';

/**
 * Reads balance snapshots (`GET /v1/players/:playerId/balance`) and, for the
 * back office, transactions (`GET /v1/players/:playerId/transactions`) from
 * the wallet's HTTP API. Each attempt has its own timeout; network failures,
 * timeouts, 429 and 5xx are retried with jittered backoff, other statuses
 * are not.
 */
export class WalletClient {
  constructor(
    private readonly config: WalletClientConfig,
    private readonly logger: Logger,
  ) {}

  async fetchSnapshot(playerId: string, signal: AbortSignal): Promise<BalanceSnapshot> {
    const path = `/v1/players/${encodeURIComponent(playerId)}/balance`;
    return this.withRetries('balance snapshot', playerId, signal, async () => checkSnapshot(await this.getJson(path, playerId, signal), playerId));
  }

  /** Reads the player's newest transactions, newest first, for the back office. */
  async fetchTransactions(playerId: string, limit: number, signal: AbortSignal): Promise<PlayerTransaction[]> {
    const path = `/v1/players/${encodeURIComponent(playerId)}/transactions?limit=${limit}`;
    return this.withRetries('transaction list', playerId, signal, async () =>
      checkTransactions(await this.getJson(path, playerId, signal), playerId),
    );
  }

  private async withRetries<T>(what: string, playerId: string, signal: AbortSignal, attempt: () => Promise<T>): Promise<T> {
    const backoff = { initialDelayMs: this.config.retryDelayMs, maxDelayMs: this.config.retryDelayMs * 10 };
    let lastProblem = 'no attempt made';

    for (let attemptNumber = 1; attemptNumber <= this.config.attemptsMax && !signal.aborted; attemptNumber += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (error instanceof CroupierError && error.code !== 'GATEWAY_ERR_WALLET_UNAVAILABLE') throw error;
        lastProblem = error instanceof Error ? error.message : String(error);
      }

      if (attemptNumber < this.config.attemptsMax) {
        const delayMs = backoffDelayMs(attemptNumber, backoff);
        this.logger.warn({ playerId, attempt: attemptNumber, delayMs, problem: lastProblem }, `wallet ${what} request failed, retrying`);
        await sleep(delayMs, signal);
      }
    }

    if (signal.aborted) throw gatewayErrors.gatewayClosing();
    throw gatewayErrors.walletUnavailable(playerId, this.config.attemptsMax, lastProblem);
  }

  private async getJson(path: string, playerId: string, signal: AbortSignal): Promise<unknown> {
    const url = `${this.config.baseUrl.replace(/\/$/, '')}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { 'x-api-key': this.config.apiKey, accept: 'application/json' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.config.timeoutMs)]),
      });
    } catch (error) {
      throw gatewayErrors.walletUnavailable(playerId, 1, describeFetchError(error, this.config.timeoutMs));
    }

    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      throw gatewayErrors.walletUnavailable(playerId, 1, `HTTP ${response.status}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw walletRejected(playerId, response.status);
    }

    try {
      return await response.json();
    } catch {
      throw gatewayErrors.walletResponseInvalid(playerId, 'body is not JSON');
    }
  }
}

/** Builds walletRejected with the wallet's HTTP status in `details.upstreamStatus`, so callers can tell 404 from 401. */
function walletRejected(playerId: string, status: number): CroupierError {
  const error = gatewayErrors.walletRejected(playerId, status);
  return new CroupierError(error.code, error.statusCode, error.message, { upstreamStatus: status });
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause;
    return cause?.code === undefined ? error.message : `${error.message} (${cause.code})`;
  }
  return String(error);
}

const NON_NEGATIVE_INTEGER_FIELDS = ['cashMinor', 'bonusMinor', 'balanceVersion'] as const;

/** Checks a wallet response against the BalanceSnapshot contract, so a player never receives a malformed balance. */
export function checkSnapshot(body: unknown, playerId: string): BalanceSnapshot {
  if (typeof body !== 'object' || body === null) {
    throw gatewayErrors.walletResponseInvalid(playerId, 'body is not an object');
  }
  const candidate = body as Record<string, unknown>;

  if (candidate.playerId !== playerId) {
    throw gatewayErrors.walletResponseInvalid(playerId, `playerId is ${JSON.stringify(candidate.playerId)}`);
  }
  if (typeof candidate.currency !== 'string' || !/^[A-Z]{3}$/.test(candidate.currency)) {
    throw gatewayErrors.walletResponseInvalid(playerId, 'currency is not a three-letter code');
  }
  for (const field of NON_NEGATIVE_INTEGER_FIELDS) {
    const value = candidate[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw gatewayErrors.walletResponseInvalid(playerId, `${field} is not a non-negative integer`);
    }
  }
  if (typeof candidate.takenAt !== 'string' || Number.isNaN(Date.parse(candidate.takenAt))) {
    throw gatewayErrors.walletResponseInvalid(playerId, 'takenAt is not a timestamp');
  }

  return {
    playerId,
    currency: candidate.currency,
    cashMinor: candidate.cashMinor as number,
    bonusMinor: candidate.bonusMinor as number,
    balanceVersion: candidate.balanceVersion as number,
    takenAt: candidate.takenAt,
  };
}

const TRANSACTION_KINDS: ReadonlySet<string> = new Set<TransactionKind>([
  'bet',
  'win',
  'rollback',
  'deposit',
  'withdrawal_requested',
  'withdrawal_completed',
  'withdrawal_failed',
  'bonus',
]);

/**
 * Checks the wallet's transaction list and maps it to the back office's
 * view. End-of-round entries are left out because they move no money and
 * the gateway pushes no event for them.
 */
export function checkTransactions(body: unknown, playerId: string): PlayerTransaction[] {
  const list = typeof body === 'object' && body !== null ? (body as { transactions?: unknown }).transactions : undefined;
  if (!Array.isArray(list)) throw gatewayErrors.walletResponseInvalid(playerId, 'transactions is not an array');

  const transactions: PlayerTransaction[] = [];
  for (const [index, entry] of list.entries()) {
    if (typeof entry !== 'object' || entry === null) {
      throw gatewayErrors.walletResponseInvalid(playerId, `transactions[${index}] is not an object`);
    }
    const candidate = entry as Record<string, unknown>;
    if (candidate.type === 'end_round') continue;
    if (typeof candidate.type !== 'string' || !TRANSACTION_KINDS.has(candidate.type)) {
      throw gatewayErrors.walletResponseInvalid(playerId, `transactions[${index}].type ${JSON.stringify(candidate.type)} is unknown`);
    }
    const problem = findTransactionProblem(candidate);
    if (problem !== undefined) throw gatewayErrors.walletResponseInvalid(playerId, `transactions[${index}].${problem}`);

    transactions.push({
      playerId,
      kind: candidate.type as TransactionKind,
      reference: candidate.reference as string,
      currency: candidate.currency as string,
      amountMinor: candidate.amountMinor as number,
      provider: (candidate.provider as string | null | undefined) ?? null,
      gameId: (candidate.gameId as string | null | undefined) ?? null,
      roundId: (candidate.roundId as string | null | undefined) ?? null,
      committedAt: candidate.committedAt as string,
    });
  }
  return transactions;
}

function findTransactionProblem(candidate: Record<string, unknown>): string | undefined {
  if (typeof candidate.reference !== 'string') return 'reference is not a string';
  if (typeof candidate.currency !== 'string' || !/^[A-Z]{3}$/.test(candidate.currency)) return 'currency is not a three-letter code';
  if (typeof candidate.amountMinor !== 'number' || !Number.isSafeInteger(candidate.amountMinor)) return 'amountMinor is not an integer';
  if (typeof candidate.committedAt !== 'string' || Number.isNaN(Date.parse(candidate.committedAt))) return 'committedAt is not a timestamp';
  for (const field of ['provider', 'gameId', 'roundId'] as const) {
    const value = candidate[field];
    if (value !== undefined && value !== null && typeof value !== 'string') return `${field} is not a string or null`;
  }
  return undefined;
}
