import { backoffDelayMs, CroupierError, sleep } from '@croupier/shared';
import type { BalanceSnapshot } from '@croupier/shared/contracts';
import type { Logger } from 'pino';
import type { WalletClientConfig } from './config.js';
import { gatewayErrors } from './errors.js';

/**
 * Reads balance snapshots from the wallet's HTTP API
 * (`GET /v1/players/:playerId/balance`). Each attempt has its own timeout;
 * network failures, timeouts, 429 and 5xx are retried with jittered backoff,
 * other statuses are not.
 */
export class WalletClient {
  constructor(
    private readonly config: WalletClientConfig,
    private readonly logger: Logger,
  ) {}

  async fetchSnapshot(playerId: string, signal: AbortSignal): Promise<BalanceSnapshot> {
    const backoff = { initialDelayMs: this.config.retryDelayMs, maxDelayMs: this.config.retryDelayMs * 10 };
    let lastProblem = 'no attempt made';

    for (let attempt = 1; attempt <= this.config.attemptsMax && !signal.aborted; attempt += 1) {
      try {
        return await this.fetchOnce(playerId, signal);
      } catch (error) {
        if (error instanceof CroupierError && error.code !== 'GATEWAY_ERR_WALLET_UNAVAILABLE') throw error;
        lastProblem = error instanceof Error ? error.message : String(error);
      }

      if (attempt < this.config.attemptsMax) {
        const delayMs = backoffDelayMs(attempt, backoff);
        this.logger.warn({ playerId, attempt, delayMs, problem: lastProblem }, 'wallet snapshot request failed, retrying');
        await sleep(delayMs, signal);
      }
    }

    if (signal.aborted) throw gatewayErrors.gatewayClosing();
    throw gatewayErrors.walletUnavailable(playerId, this.config.attemptsMax, lastProblem);
  }

  private async fetchOnce(playerId: string, signal: AbortSignal): Promise<BalanceSnapshot> {
    const url = `${this.config.baseUrl.replace(/\/$/, '')}/v1/players/${encodeURIComponent(playerId)}/balance`;
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
      throw gatewayErrors.walletRejected(playerId, response.status);
    }

    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw gatewayErrors.walletResponseInvalid(playerId, 'body is not JSON');
    }
    return checkSnapshot(body, playerId);
  }
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
