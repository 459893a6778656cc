import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CroupierError } from '@croupier/shared';
import { readGatewayConfig } from '../src/config.js';
import { planDrainBatches } from '../src/drain.js';
import { checkSnapshot } from '../src/wallet-client.js';

describe('planDrainBatches', () => {
  test('one socket per batch when few', () => {
    const plan = planDrainBatches(4, 1000);

    assert.equal(plan.batchSize, 1, 'each socket gets its own batch');
    assert.equal(plan.intervalMs, 250, 'batches spread over the whole period');
  });

  test('large counts grouped into batches', () => {
    const plan = planDrainBatches(10_000, 1000);

    assert.equal(plan.batchSize, 100, 'at most one batch per 10 ms');
    assert.equal(plan.intervalMs, 10, 'batches 10 ms apart');
  });

  test('zero period closes at once', () => {
    const plan = planDrainBatches(50, 0);

    assert.equal(plan.batchSize, 50, 'one batch with every socket');
  });

  test('no sockets, no batches', () => {
    assert.deepEqual(planDrainBatches(0, 1000), { batchSize: 0, intervalMs: 0 }, 'nothing to plan');
  });
});

describe('checkSnapshot', () => {
  const valid = { playerId: 'p-1', currency: 'EUR', cashMinor: 10, bonusMinor: 0, balanceVersion: 3, takenAt: '2026-01-01T00:00:00Z' };

  test('valid snapshot accepted', () => {
    assert.deepEqual(checkSnapshot(valid, 'p-1'), valid, 'fields copied as sent');
  });

  const invalidCases: [string, unknown][] = [
    ['another player', { ...valid, playerId: 'p-2' }],
    ['lowercase currency', { ...valid, currency: 'eur' }],
    ['fractional cash', { ...valid, cashMinor: 1.5 }],
    ['negative bonus', { ...valid, bonusMinor: -1 }],
    ['version as string', { ...valid, balanceVersion: '3' }],
    ['missing takenAt', { ...valid, takenAt: undefined }],
    ['not an object', 'snapshot'],
  ];
  for (const [name, body] of invalidCases) {
    test(`${name} rejected`, () => {
      assert.throws(
        () => checkSnapshot(body, 'p-1'),
        (error: unknown) => error instanceof CroupierError && error.code === 'GATEWAY_ERR_WALLET_RESPONSE_INVALID',
        `${name} is an invalid wallet response`,
      );
    });
  }
});

describe('readGatewayConfig', () => {
  const env = {
    BRAND: 'brand-a',
    REDIS_URL: 'redis://127.0.0.1:6379',
    AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672/brand-a',
    PLAYER_TOKEN_SECRET: 's'.repeat(32),
    WALLET_BASE_URL: 'http://127.0.0.1:3000',
    WALLET_API_KEY: 'key',
  };

  test('defaults applied', () => {
    const config = readGatewayConfig(env);

    assert.equal(config.host, '127.0.0.1', 'listens on loopback by default');
    assert.equal(config.port, 8080, 'default port');
    assert.equal(config.slowConsumer.bufferPacketsMax, 256, 'default packet limit');
    assert.equal(config.drain.timeoutMs, 25_000, 'default drain bound');
  });

  test('numbers converted from strings', () => {
    const config = readGatewayConfig({ ...env, PORT: '0', SLOW_CONSUMER_BUFFER_PACKETS_MAX: '8' });

    assert.equal(config.port, 0, 'port 0 allowed');
    assert.equal(config.slowConsumer.bufferPacketsMax, 8, 'packet limit read');
  });

  test('missing and inconsistent values reported', () => {
    assert.throws(() => readGatewayConfig({ ...env, BRAND: undefined }), /BRAND/, 'missing brand named');
    assert.throws(() => readGatewayConfig({ ...env, PLAYER_TOKEN_SECRET: 'short' }), /PLAYER_TOKEN_SECRET/, 'short secret named');
    assert.throws(
      () => readGatewayConfig({ ...env, RECONNECT_AFTER_MS_MIN: '5000', RECONNECT_AFTER_MS_MAX: '100' }),
      /RECONNECT_AFTER_MS_MAX/,
      'inverted reconnect range named',
    );
    assert.throws(
      () => readGatewayConfig({ ...env, DRAIN_PERIOD_MS: '30000', DRAIN_TIMEOUT_MS: '20000' }),
      /DRAIN_TIMEOUT_MS/,
      'drain bound shorter than the period named',
    );
  });
});
