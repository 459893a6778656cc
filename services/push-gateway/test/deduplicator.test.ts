import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { RedisDeduplicator } from '../src/deduplicator.js';

describe('Redis deduplicator', () => {
  const keyPrefix = `croupier:${uniqueBrand('dedup')}:`;
  let redis: Redis;
  let deduplicator: RedisDeduplicator;

  before(() => {
    redis = new Redis(infraSettings().redisUrl);
    deduplicator = new RedisDeduplicator(redis, keyPrefix, 60);
  });

  after(async () => {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('lets the first delivery through', async () => {
    assert.equal(await deduplicator.isProcessed(randomUUID(), false), false);
  });

  it('skips a second copy while the first is claimed', async () => {
    const eventId = randomUUID();
    await deduplicator.isProcessed(eventId, false);
    assert.equal(await deduplicator.isProcessed(eventId, false), true, 'a fresh copy must not take over a live claim');
  });

  it('lets a redelivery take over a claim left behind', async () => {
    const eventId = randomUUID();
    await deduplicator.isProcessed(eventId, false);
    assert.equal(await deduplicator.isProcessed(eventId, true), false, 'a redelivery means the claimant died or gave it back');
  });

  it('skips a redelivery of a finished event', async () => {
    const eventId = randomUUID();
    await deduplicator.isProcessed(eventId, false);
    await deduplicator.markProcessed(eventId);
    assert.equal(await deduplicator.isProcessed(eventId, true), true, 'a finished push must not repeat');
    assert.equal(await deduplicator.isProcessed(eventId, false), true, 'a copy of a finished push must not repeat');
  });
});
