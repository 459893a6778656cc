import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { infraSettings } from '@croupier/shared/testing';
import { AggregateStore } from '../src/engine/aggregates.js';
import { planEvent } from '../src/engine/plan.js';
import { compileRuleFile } from '../src/rules/load.js';
import { at, DAY_MS, HOUR_MS, TEST_RULES } from './support/rules-fixture.js';
import { consumedCount, interventionsOf, startStack, waitFor, waitForConsumed, type TestStack } from './support/stack.js';

let stack: TestStack;
let player = 0;
const newPlayer = (): string => `player-${++player}-${randomUUID().slice(0, 8)}`;

/** Publishes events in order and waits until the service has handled all of them. */
async function deliver(...events: (() => Promise<string>)[]): Promise<string[]> {
  const before = await consumedCount(stack);
  const ids: string[] = [];
  for (const publish of events) ids.push(await publish());
  await waitForConsumed(stack, before + events.length);
  return ids;
}

const deposit = (playerId: string, currency: string, amountMinor: number, offsetMs: number, eventId?: string) => () =>
  stack.publish(
    'DepositCompleted',
    playerId,
    { paymentReference: randomUUID(), currency, amountMinor, method: 'card' },
    { occurredAt: at(offsetMs), eventId },
  );

const bet = (playerId: string, currency: string, amountMinor: number, offsetMs: number) => () =>
  stack.publish(
    'BetPlaced',
    playerId,
    {
      provider: 'acme',
      providerTransactionId: randomUUID(),
      roundId: randomUUID(),
      gameId: 'slots',
      currency,
      amountMinor,
      fromCashMinor: amountMinor,
      fromBonusMinor: 0,
    },
    { occurredAt: at(offsetMs) },
  );

const win = (playerId: string, currency: string, amountMinor: number, offsetMs: number) => () =>
  stack.publish(
    'WinCredited',
    playerId,
    { provider: 'acme', providerTransactionId: randomUUID(), roundId: randomUUID(), gameId: 'slots', currency, amountMinor },
    { occurredAt: at(offsetMs) },
  );

const bonus = (playerId: string, amountMinor: number, offsetMs: number) => () =>
  stack.publish('BonusCredited', playerId, { bonusReference: randomUUID(), currency: 'EUR', amountMinor }, { occurredAt: at(offsetMs) });

const ruleIds = async (playerId: string): Promise<string[]> => (await interventionsOf(stack, playerId)).map((row) => row.rule_id as string);

describe('rules engine', () => {
  before(async () => {
    stack = await startStack(TEST_RULES);
  });
  after(async () => {
    await stack?.close();
  });

  test('windowed sum fires at the threshold, not below', async () => {
    const below = newPlayer();
    await deliver(deposit(below, 'EUR', 60_000, 0), deposit(below, 'EUR', 39_999, HOUR_MS));
    assert.deepEqual(await ruleIds(below), []);

    const exact = newPlayer();
    await deliver(deposit(exact, 'EUR', 60_000, 0), deposit(exact, 'EUR', 40_000, HOUR_MS));
    const [row] = await interventionsOf(stack, exact);
    assert.equal(row?.rule_id, 'deposits-24h');
    assert.deepEqual(row?.window_values, { sumMinor: 100_000, count: 2 });
    assert.deepEqual(row?.thresholds, { sumMinor: 100_000 });
    assert.equal((row?.window_end as Date).toISOString(), at(HOUR_MS).toISOString());
    assert.equal((row?.window_start as Date).toISOString(), at(HOUR_MS - DAY_MS).toISOString());
  });

  test('windowed sum window edges are exact', async () => {
    const inside = newPlayer();
    await deliver(deposit(inside, 'EUR', 60_000, 0), deposit(inside, 'EUR', 40_000, DAY_MS - 1));
    assert.deepEqual(await ruleIds(inside), ['deposits-24h'], 'an entry 24 h minus 1 ms old is inside the window');

    const outside = newPlayer();
    await deliver(deposit(outside, 'EUR', 60_000, 0), deposit(outside, 'EUR', 40_000, DAY_MS));
    assert.deepEqual(await ruleIds(outside), [], 'an entry exactly 24 h old has left the window');
  });

  test('thresholds apply per currency', async () => {
    const gbp = newPlayer();
    await deliver(deposit(gbp, 'GBP', 50_000, 0));
    assert.deepEqual(await ruleIds(gbp), ['deposits-24h']);

    const unlisted = newPlayer();
    await deliver(deposit(unlisted, 'JPY', 10_000_000, 0));
    assert.deepEqual(await ruleIds(unlisted), [], 'a currency with no threshold is not checked');
  });

  test('redelivered event counts once', async () => {
    const playerId = newPlayer();
    const eventId = randomUUID();
    await deliver(deposit(playerId, 'EUR', 60_000, 0, eventId), deposit(playerId, 'EUR', 60_000, HOUR_MS, eventId));
    assert.deepEqual(await ruleIds(playerId), [], 'the second copy of one event id must not add 600 EUR again');

    await deliver(deposit(playerId, 'EUR', 40_000, 2 * HOUR_MS));
    assert.deepEqual(await ruleIds(playerId), ['deposits-24h']);
  });

  test('late event lands in its window', async () => {
    const playerId = newPlayer();
    // 10:00 600 EUR and 12:00 300 EUR arrive first; 11:00 200 EUR arrives last
    // and completes the window ending at 12:00.
    await deliver(deposit(playerId, 'EUR', 60_000, 10 * HOUR_MS), deposit(playerId, 'EUR', 30_000, 12 * HOUR_MS));
    assert.deepEqual(await ruleIds(playerId), []);
    await deliver(deposit(playerId, 'EUR', 20_000, 11 * HOUR_MS));
    const [row] = await interventionsOf(stack, playerId);
    assert.equal(row?.rule_id, 'deposits-24h');
    assert.equal((row?.window_end as Date).toISOString(), at(12 * HOUR_MS).toISOString());
    assert.deepEqual(row?.window_values, { sumMinor: 110_000, count: 3 });

    const old = newPlayer();
    await deliver(deposit(old, 'EUR', 90_000, 30 * HOUR_MS), deposit(old, 'EUR', 20_000, 5 * HOUR_MS));
    assert.deepEqual(await ruleIds(old), [], 'a late event 25 h earlier shares no window with the first');
  });

  test('fires once per window', async () => {
    const playerId = newPlayer();
    await deliver(
      deposit(playerId, 'EUR', 100_000, 0),
      deposit(playerId, 'EUR', 100_000, HOUR_MS),
      deposit(playerId, 'EUR', 100_000, DAY_MS - 1),
    );
    assert.deepEqual(await ruleIds(playerId), ['deposits-24h'], 'no second firing while the first firing is in the window');
    await deliver(deposit(playerId, 'EUR', 100_000, DAY_MS));
    assert.deepEqual(await ruleIds(playerId), ['deposits-24h', 'deposits-24h'], 'a new window fires again');
  });

  test('windowed count honours the cooldown', async () => {
    const playerId = newPlayer();
    await deliver(deposit(playerId, 'SEK', 100, 0), deposit(playerId, 'SEK', 100, 10 * 60_000));
    assert.deepEqual(await ruleIds(playerId), []);
    await deliver(deposit(playerId, 'SEK', 100, 20 * 60_000));
    assert.deepEqual(await ruleIds(playerId), ['deposit-count-sek']);

    // 90 minutes after the firing: a fresh window of three, but inside the 2 h cooldown.
    const offsets = [90, 100, 110].map((minutes) => (20 + minutes) * 60_000);
    await deliver(...offsets.map((offset) => deposit(playerId, 'SEK', 100, offset)));
    assert.equal((await ruleIds(playerId)).length, 1);

    const later = [150, 151, 152].map((minutes) => (20 + minutes) * 60_000);
    await deliver(...later.map((offset) => deposit(playerId, 'SEK', 100, offset)));
    assert.equal((await ruleIds(playerId)).length, 2, 'fires again once the cooldown has passed');
  });

  test('net loss subtracts wins', async () => {
    const playerId = newPlayer();
    await deliver(bet(playerId, 'NOK', 40_000, 0), win(playerId, 'NOK', 10_000, 1000), bet(playerId, 'NOK', 19_999, 2000));
    assert.deepEqual(await ruleIds(playerId), [], 'net loss 49,999 is below 50,000');
    await deliver(bet(playerId, 'NOK', 1, 3000));
    const [row] = await interventionsOf(stack, playerId);
    assert.equal(row?.rule_id, 'net-loss-nok');
    assert.equal((row?.window_values as Record<string, number>).sumMinor, 50_000);
  });

  test('structuring counts deposits in the band', async () => {
    const playerId = newPlayer();
    // Band: 9,000.00 <= amount < 10,000.00 USD.
    await deliver(
      deposit(playerId, 'USD', 1_000_000, 0),
      deposit(playerId, 'USD', 899_999, HOUR_MS),
      deposit(playerId, 'USD', 900_000, 2 * HOUR_MS),
      deposit(playerId, 'USD', 999_999, 3 * HOUR_MS),
    );
    assert.deepEqual(await ruleIds(playerId), [], 'only two deposits are in the band');
    await deliver(deposit(playerId, 'USD', 950_000, DAY_MS + 2 * HOUR_MS - 1));
    const [row] = await interventionsOf(stack, playerId);
    assert.equal(row?.rule_id, 'structuring-usd');
    assert.deepEqual(row?.window_values, { count: 3 });
    assert.deepEqual(row?.thresholds, { reportingMinor: 1_000_000, bandMinor: 100_000, count: 3 });
  });

  test('bonus escalation needs rising levels', async () => {
    const falling = newPlayer();
    await deliver(bonus(falling, 30_000, 0), bonus(falling, 12_000, HOUR_MS), bonus(falling, 6000, 2 * HOUR_MS));
    assert.deepEqual(await ruleIds(falling), [], 'falling amounts are one step');

    const rising = newPlayer();
    await deliver(bonus(rising, 6000, 0), bonus(rising, 4000, HOUR_MS), bonus(rising, 12_000, 2 * HOUR_MS));
    assert.deepEqual(await ruleIds(rising), []);
    await deliver(bonus(rising, 25_000, 7 * DAY_MS - 1));
    const [row] = await interventionsOf(stack, rising);
    assert.equal(row?.rule_id, 'bonus-escalation');
    assert.deepEqual(row?.window_values, { levelsCrossed: 3, maxAmountMinor: 25_000 });

    const slow = newPlayer();
    await deliver(bonus(slow, 6000, 0), bonus(slow, 12_000, HOUR_MS), bonus(slow, 30_000, 7 * DAY_MS));
    assert.deepEqual(await ruleIds(slow), [], 'the first step has left the 7 d window');
  });

  test('single transaction threshold is inclusive', async () => {
    const playerId = newPlayer();
    await deliver(deposit(playerId, 'CHF', 499_999, 0));
    assert.deepEqual(await ruleIds(playerId), []);
    await deliver(deposit(playerId, 'CHF', 500_000, HOUR_MS), deposit(playerId, 'CHF', 700_000, 2 * HOUR_MS));
    const rows = await interventionsOf(stack, playerId);
    assert.deepEqual(rows.map((row) => row.rule_id), ['big-deposit-chf', 'big-deposit-chf']);
    assert.equal(rows[0]?.window_start, null);
    assert.deepEqual(rows[0]?.window_values, { amountMinor: 500_000 });
  });

  test('session length fires on the crossing event', async () => {
    const playerId = newPlayer();
    // Bets every 20 minutes: 0, 20, 40 and 60 minutes make a 60 minute session.
    await deliver(bet(playerId, 'EUR', 100, 0), bet(playerId, 'EUR', 100, 20 * 60_000), bet(playerId, 'EUR', 100, 40 * 60_000));
    await deliver(bet(playerId, 'EUR', 100, 60 * 60_000 - 1));
    assert.deepEqual(await ruleIds(playerId), [], '59:59.999 is under an hour');
    await deliver(bet(playerId, 'EUR', 100, 60 * 60_000));
    let rows = await interventionsOf(stack, playerId);
    assert.deepEqual(rows.map((row) => row.rule_id), ['reality-check']);
    assert.deepEqual(rows[0]?.window_values, { sessionSeconds: 3600 });
    assert.equal((rows[0]?.window_start as Date).toISOString(), at(0).toISOString());

    await deliver(bet(playerId, 'EUR', 100, 80 * 60_000));
    assert.equal((await interventionsOf(stack, playerId)).length, 1, 'once per session');

    // A gap of 30 minutes and 1 ms ends the session; the next one fires after its own hour.
    const next = 110 * 60_000 + 1;
    await deliver(bet(playerId, 'EUR', 100, next), bet(playerId, 'EUR', 100, next + 30 * 60_000));
    await deliver(bet(playerId, 'EUR', 100, next + 60 * 60_000));
    rows = await interventionsOf(stack, playerId);
    assert.equal(rows.length, 2);
    assert.equal((rows[1]?.window_start as Date).toISOString(), at(next).toISOString());
  });

  test('idle gap at the limit keeps the session', async () => {
    const playerId = newPlayer();
    await deliver(bet(playerId, 'EUR', 100, 0), bet(playerId, 'EUR', 100, 30 * 60_000), bet(playerId, 'EUR', 100, 60 * 60_000));
    assert.deepEqual(await ruleIds(playerId), ['reality-check'], 'gaps of exactly 30 minutes do not end the session');
  });

  test('counted event with uncommitted firing is committed once', async () => {
    // A replica ran the script and died before its PostgreSQL commit: the
    // event is counted and its firing pending. The delivery that follows
    // must commit that firing and must not count the deposit again.
    const playerId = newPlayer();
    await deliver(deposit(playerId, 'EUR', 50_000, 0));
    const redis = new Redis(infraSettings().redisUrl);
    try {
      const rules = compileRuleFile(TEST_RULES, 'rules.yaml', stack.brand);
      const eventId = randomUUID();
      const event = {
        id: eventId,
        type: 'DepositCompleted' as const,
        schemaVersion: 1,
        brand: stack.brand,
        playerId,
        occurredAt: at(HOUR_MS).toISOString(),
        committedAt: new Date().toISOString(),
        data: { paymentReference: 'ref', currency: 'EUR', amountMinor: 50_000, method: 'card' },
      };
      const store = new AggregateStore(redis, stack.brand, 60_000);
      const crashed = await store.apply(planEvent(event, rules, { brand: stack.brand, maxLatenessMs: HOUR_MS, markerTtlMs: 60_000 }));
      assert.equal(crashed.status, 'applied');
      assert.equal(crashed.firings.length, 1);
      assert.deepEqual(await ruleIds(playerId), []);

      await deliver(deposit(playerId, 'EUR', 50_000, HOUR_MS, eventId));
      const rows = await interventionsOf(stack, playerId);
      assert.deepEqual(rows.map((row) => row.rule_id), ['deposits-24h']);
      assert.deepEqual(rows[0]?.window_values, { sumMinor: 100_000, count: 2 });
      assert.equal(await redis.get(`croupier:${stack.brand}:rules:event:${eventId}`), 'done');

      await deliver(deposit(playerId, 'EUR', 50_000, HOUR_MS, eventId));
      assert.equal((await interventionsOf(stack, playerId)).length, 1, 'a third copy changes nothing');
    } finally {
      redis.disconnect();
    }
  });

  test('invalid event is dead-lettered', async () => {
    const before = await consumedCount(stack);
    await stack.publishRaw('payment.deposit_completed', Buffer.from('{"not":"an event"}'));
    await waitFor(async () => (await consumedCount(stack)) > before, 'the invalid event to be handled');
    const metric = await stack.service.metrics.eventsConsumed.get();
    assert.ok(metric.values.some((sample) => sample.labels.outcome === 'dead_lettered' && sample.value >= 1));
  });

  test('Redis keys stay under the brand prefix', async () => {
    const redis = new Redis(infraSettings().redisUrl);
    try {
      const keys = await redis.keys(`*${stack.brand}*`);
      assert.ok(keys.length > 0);
      for (const key of keys) assert.ok(key.startsWith(`croupier:${stack.brand}:rules:`), key);
    } finally {
      redis.disconnect();
    }
  });
});
