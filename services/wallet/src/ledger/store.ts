import type pg from 'pg';
import type { Logger } from 'pino';
import { CURRENT_SCHEMA_VERSION, nowEpochMicros, type EventType } from '@croupier/shared';
import { isWalletErrorCode, walletError } from '../errors.js';
import { toUnavailableError } from '../db/errors.js';

/** The PL/pgSQL operations that return wallet_result, and their parameter count after the context. */
const LEDGER_FUNCTIONS = {
  wallet_bet: 8,
  wallet_win: 10,
  wallet_rollback: 7,
  wallet_end_round: 6,
  wallet_deposit: 6,
  wallet_request_withdrawal: 5,
  wallet_settle_withdrawal: 5,
  wallet_credit_bonus: 5,
  wallet_set_limit: 7,
  wallet_start_exclusion: 4,
} as const;

export type LedgerFunction = keyof typeof LEDGER_FUNCTIONS;

/** One outbox row as the ledger function returned it after writing it. */
export interface CommittedEvent {
  outboxId: string;
  eventId: string;
  type: EventType;
  /** The envelope without `committedAt`, which the relay adds. */
  envelope: Record<string, unknown>;
}

/** Receives the outbox rows of each commit, so the relay publishes them at once with the commit time. */
export interface CommitListener {
  handOff(events: readonly CommittedEvent[], committedAtMicros: number): void;
  /** Asks for a drain of every unsent row, for when a commit may have happened without a hand-off. */
  requestFullDrain(reason: string): void;
}

/** The log methods a ledger call uses; pino loggers and fastify request loggers both fit. */
export type OperationLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface LedgerResponse {
  outcome: 'applied' | 'replayed';
  statusCode: number;
  /** Response body exactly as stored with the transaction; replays return the same bytes. */
  body: string;
}

interface WalletResultRow {
  outcome: 'applied' | 'replayed' | 'rejected';
  status_code: number | null;
  body: string | null;
  error_code: string | null;
  error_details: Record<string, unknown> | null;
  outbox_ids: string[] | null;
  events: CommittedEvent[] | null;
}

const PG_UNIQUE_VIOLATION = '23505';
const IDEMPOTENCY_CONSTRAINT = 'wallet_transactions_idempotency_key';

export interface LedgerStoreOptions {
  pool: pg.Pool;
  brand: string;
  /** Id of this wallet process, written to each outbox row it produces. */
  producerId: string;
  commitListener: CommitListener;
}

/**
 * Runs one money operation as one PL/pgSQL call in its own implicit
 * transaction, so an operation is either committed whole or not at all.
 */
export class LedgerStore {
  constructor(private readonly options: LedgerStoreOptions) {}

  get pool(): pg.Pool {
    return this.options.pool;
  }

  get brand(): string {
    return this.options.brand;
  }

  get producerId(): string {
    return this.options.producerId;
  }

  /** Builds the context argument every outbox-writing function takes. */
  eventContext(traceparent: string): string {
    return JSON.stringify({
      brand: this.options.brand,
      producer: this.options.producerId,
      traceparent,
      schemaVersion: CURRENT_SCHEMA_VERSION,
    });
  }

  /** Runs `fn`; throws the registry error of a rejection, returns the stored body otherwise. */
  async execute(fn: LedgerFunction, args: readonly unknown[], traceparent: string, logger: OperationLogger): Promise<LedgerResponse> {
    const row = await this.callWithRetry(fn, [this.eventContext(traceparent), ...args], logger);

    if (row.outcome === 'rejected') {
      const code = row.error_code ?? 'WALLET_ERR_INTERNAL';
      if (!isWalletErrorCode(code)) throw new Error(`${fn} returned unknown error code ${code}`);
      throw walletError(code, row.error_details ?? {});
    }
    if (row.body === null || row.status_code === null) throw new Error(`${fn} returned ${row.outcome} without a body`);
    return { outcome: row.outcome, statusCode: row.status_code, body: row.body };
  }

  /**
   * Two requests with one idempotency key but different players lock
   * different rows, so one of them fails on the unique key. Running it once
   * more finds the committed original and returns the replay or the duplicate error.
   */
  private async callWithRetry(fn: LedgerFunction, values: unknown[], logger: OperationLogger): Promise<WalletResultRow> {
    const placeholders = Array.from({ length: LEDGER_FUNCTIONS[fn] + 1 }, (_, index) => `$${index + 1}`).join(', ');
    const query = { name: fn, text: `SELECT * FROM ${fn}(${placeholders})`, values };

    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await this.options.pool.query<WalletResultRow>(query);
        const committedAtMicros = nowEpochMicros();
        const row = result.rows[0];
        if (row === undefined) throw new Error(`${fn} returned no row`);
        // A rejection may carry events too: pending limit changes it applied before its check failed.
        if (row.outcome !== 'replayed' && row.events !== null && row.events.length > 0) {
          this.options.commitListener.handOff(row.events, committedAtMicros);
        }
        return row;
      } catch (error) {
        if (attempt === 1 && isIdempotencyConflict(error)) {
          logger.debug({ fn }, 'idempotency key was taken concurrently, running the operation again');
          continue;
        }
        // The commit may have happened before the connection failed, without a hand-off.
        this.options.commitListener.requestFullDrain(`${fn} failed`);
        throw toUnavailableError(error) ?? error;
      }
    }
  }
}

function isIdempotencyConflict(error: unknown): boolean {
  const databaseError = error as { code?: string; constraint?: string };
  return databaseError.code === PG_UNIQUE_VIOLATION && databaseError.constraint === IDEMPOTENCY_CONSTRAINT;
}
