import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { backoffDelayMs } from '../src/backoff.js';
import { formatIsoMicros, parseIsoMicros } from '../src/contracts/time.js';
import { EventValidationError, parseEvent } from '../src/contracts/validate.js';

function balanceChangedEvent(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: randomUUID(),
    type: 'BalanceChanged',
    schemaVersion: 1,
    brand: 'alpha',
    playerId: 'player-1',
    occurredAt: '2026-12-04T20:00:00.000Z',
    committedAt: '2026-12-04T20:00:00.001234Z',
    data: {
      currency: 'EUR',
      cashMinor: 1000,
      bonusMinor: 0,
      balanceVersion: 3,
      reason: 'bet',
      transactionId: '42',
      ...data,
    },
    ...overrides,
  };
}

function assertRejected(value: unknown, code: EventValidationError['code'], fragment: string): void {
  assert.throws(
    () => parseEvent(JSON.stringify(value)),
    (error: unknown) => error instanceof EventValidationError && error.code === code && error.message.includes(fragment),
    `expected ${code} mentioning ${fragment}`,
  );
}

describe('parseEvent', () => {
  it('accepts a valid BalanceChanged event', () => {
    const event = parseEvent(Buffer.from(JSON.stringify(balanceChangedEvent())));
    assert.equal(event.type, 'BalanceChanged');
  });

  it('rejects a body that is not JSON', () => {
    assert.throws(() => parseEvent('{not json'), (error: unknown) => (error as EventValidationError).code === 'EVENT_MALFORMED');
  });

  it('rejects an envelope without an id', () => {
    assertRejected(balanceChangedEvent({ id: undefined }), 'EVENT_MALFORMED', 'id');
  });

  it('rejects an id that is not a UUID', () => {
    assertRejected(balanceChangedEvent({ id: 'not-a-uuid' }), 'EVENT_MALFORMED', '/id');
  });

  it('rejects an unknown event type', () => {
    assertRejected(balanceChangedEvent({ type: 'BalanceExploded' }), 'EVENT_TYPE_UNKNOWN', 'BalanceExploded');
  });

  it('rejects an unsupported schema version', () => {
    assertRejected(balanceChangedEvent({ schemaVersion: 2 }), 'EVENT_SCHEMA_VERSION_UNSUPPORTED', 'schema version 2');
  });

  it('rejects fractional amounts in data', () => {
    assertRejected(balanceChangedEvent({}, { cashMinor: 10.5 }), 'EVENT_MALFORMED', '/cashMinor');
  });

  it('rejects a negative balance in data', () => {
    assertRejected(balanceChangedEvent({}, { cashMinor: -1 }), 'EVENT_MALFORMED', '/cashMinor');
  });
});

describe('microsecond timestamps', () => {
  it('round-trips through ISO 8601', () => {
    const epochMicros = 1_796_414_400_123_456;
    assert.equal(formatIsoMicros(epochMicros), '2026-12-04T20:00:00.123456Z');
    assert.equal(parseIsoMicros(formatIsoMicros(epochMicros)), epochMicros);
  });

  it('parses millisecond and whole-second timestamps', () => {
    assert.equal(parseIsoMicros('2026-12-04T20:00:00.5Z'), 1_796_414_400_500_000);
    assert.equal(parseIsoMicros('2026-12-04T20:00:00Z'), 1_796_414_400_000_000);
  });

  it('returns NaN for a non-UTC timestamp', () => {
    assert.ok(Number.isNaN(parseIsoMicros('2026-12-04T20:00:00+01:00')));
  });
});

describe('backoffDelayMs', () => {
  it('stays within the upper half of the exponential window', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 10_000 };
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const ceilingMs = Math.min(10_000, 100 * 2 ** (attempt - 1));
      for (let sample = 0; sample < 50; sample += 1) {
        const delayMs = backoffDelayMs(attempt, options);
        assert.ok(delayMs >= ceilingMs / 2, `attempt ${attempt}: ${delayMs} below ${ceilingMs / 2}`);
        assert.ok(delayMs <= ceilingMs, `attempt ${attempt}: ${delayMs} above ${ceilingMs}`);
      }
    }
  });
});
