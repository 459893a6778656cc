import type pg from 'pg';
import type { Logger } from 'pino';
import type { Transporter } from 'nodemailer';
import { inTransaction } from '../db/pool.js';
import { OutboxWorker } from './worker.js';

interface EmailRow {
  email_id: string;
  intervention_id: string;
  recipient: string;
  subject: string;
  body: string;
  attempts: number;
}

const CLAIM_SQL = `SELECT email_id, intervention_id, recipient, subject, body, attempts FROM rules.email_outbox
  WHERE sent_at IS NULL ORDER BY email_id LIMIT $1 FOR UPDATE SKIP LOCKED`;

/**
 * Sends rules.email_outbox through SMTP and marks each row sent. Woken after
 * each commit that wrote emails and at start. A failed send is recorded on
 * its row (attempts, last_error) and the batch is retried with backoff. A
 * crash between the SMTP server's acceptance and the commit sends that email
 * twice.
 */
export class EmailRelay {
  private readonly worker: OutboxWorker;

  constructor(
    private readonly options: {
      pool: pg.Pool;
      transporter: Transporter;
      from: string;
      batchSize: number;
      logger: Logger;
      onSent?: () => void;
      onFailure?: () => void;
    },
  ) {
    this.worker = new OutboxWorker({
      name: 'emails',
      logger: options.logger,
      isReady: () => true,
      runBatch: () => this.sendBatch(),
    });
  }

  start(): void {
    this.worker.wake('relay started');
  }

  wake(reason: string): void {
    this.worker.wake(reason);
  }

  idle(): Promise<void> {
    return this.worker.idle();
  }

  stop(timeoutMs: number): Promise<void> {
    return this.worker.stop(timeoutMs);
  }

  private async sendBatch(): Promise<boolean> {
    const { pool, transporter, from, batchSize, logger } = this.options;
    let failures = 0;
    const claimed = await inTransaction(pool, async (client) => {
      const { rows } = await client.query<EmailRow>(CLAIM_SQL, [batchSize]);
      for (const row of rows) {
        try {
          await transporter.sendMail({
            from,
            to: row.recipient,
            subject: row.subject,
            text: row.body,
            headers: { 'X-Croupier-Intervention': row.intervention_id },
          });
          await client.query('UPDATE rules.email_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE email_id = $1', [
            row.email_id,
          ]);
          this.options.onSent?.();
        } catch (error) {
          failures += 1;
          this.options.onFailure?.();
          logger.warn(
            { err: error, emailId: row.email_id, interventionId: row.intervention_id, attempts: row.attempts + 1 },
            'sending a compliance email failed; it is retried',
          );
          await client.query('UPDATE rules.email_outbox SET attempts = attempts + 1, last_error = $2 WHERE email_id = $1', [
            row.email_id,
            (error as Error).message.slice(0, 1000),
          ]);
        }
      }
      return rows.length;
    });
    if (failures > 0) throw new Error(`${failures} of ${claimed} compliance emails failed to send`);
    return claimed === batchSize;
  }
}
