import type { Deduplicator } from '@croupier/shared';
import type { Redis } from 'ioredis';

/** How long a replica owns an event it started to push before another replica may take it over. */
const CLAIM_TTL_SECONDS = 30;

/**
 * Deduplicates bus events across every replica of a brand's gateway with one
 * Redis key per event id: `<prefix>dedup:<eventId>`.
 *
 * `isProcessed` claims the event with `SET NX`, so when two copies of one
 * event reach two replicas at the same moment only one of them pushes it.
 * `markProcessed` turns the claim into a "done" marker that lives for
 * `ttlSeconds`. A handler that fails calls `releaseClaim` so the requeued
 * delivery is pushed on its next attempt.
 *
 * A replica that crashes between claiming and acknowledging leaves a claim
 * behind for up to CLAIM_TTL_SECONDS. The broker then redelivers the message
 * with its redelivered flag set, and a redelivery takes over a claim that is
 * not yet "done", so the push still reaches players on every replica.
 */
export class RedisDeduplicator implements Deduplicator {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
  ) {}

  async isProcessed(eventId: string, redelivered: boolean): Promise<boolean> {
    const claimed = await this.redis.set(this.key(eventId), 'claimed', 'EX', CLAIM_TTL_SECONDS, 'NX');
    if (claimed !== null) return false;
    if (!redelivered) return true;

    // Only a finished push makes a redelivery a duplicate. A bare claim belongs
    // to a consumer that died or gave the message back.
    return (await this.redis.get(this.key(eventId))) === 'done';
  }

  async markProcessed(eventId: string): Promise<void> {
    await this.redis.set(this.key(eventId), 'done', 'EX', this.ttlSeconds);
  }

  async releaseClaim(eventId: string): Promise<void> {
    await this.redis.del(this.key(eventId));
  }

  private key(eventId: string): string {
    return `${this.keyPrefix}dedup:${eventId}`;
  }
}
