import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventEnvelope } from '@croupier/shared';
import { createTestVhost, infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { signBody } from '../src/auth/hmac.js';
import { aBet, aPlayer, uniqueId } from './support/builders.js';
import { createTestDatabase } from './support/database.js';
import { collectEvents, type EventCollector } from './support/events.js';
import { assertLedgerInvariants } from './support/ledger-invariants.js';
import { startWalletProcess, stopWalletProcess } from './support/wallet-process.js';
import { API_KEY, PAYMENT_SECRET, PROVIDER, PROVIDER_SECRET, providerCall, startTestWallet, type TestWallet } from './support/wallet.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('transactional outbox', () => {
  const settings = infraSettings();
  let brand: string;
  let databaseUrl: string;
  let amqpUrl: string;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    brand = uniqueBrand('wallet');
    const database = await createTestDatabase(settings.pgUrl);
    cleanups.push(database.drop);
    const vhost = await createTestVhost(settings, brand);
    cleanups.unshift(vhost.remove);
    databaseUrl = database.url;
    amqpUrl = vhost.amqpUrl;
  });

  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  describe('relay in process', () => {
    let wallet: TestWallet;
    let collector: EventCollector;

    before(async () => {
      collector = await collectEvents(amqpUrl);
      wallet = await startTestWallet({ databaseUrl, brand, amqpUrl });
    });

    after(async () => {
      await wallet.close();
      await collector.close();
    });

    it('publishes valid events right after commit', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '10.00' });
      const bet = aBet(playerId, { amount: '2.50' });
      const response = await providerCall(wallet.app, 'bet', bet, { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` });
      assert.equal(response.statusCode, 200, response.body);

      const isBetEvent = (event: EventEnvelope): boolean => event.playerId === playerId && event.type === 'BetPlaced';
      await collector.waitFor((events) => events.some(isBetEvent), 5000);
      assert.deepEqual(collector.invalid, [], 'every event passes parseEvent');

      const events = collector.events.filter((event) => event.playerId === playerId);
      const betPlaced = events.find(isBetEvent);
      assert.ok(betPlaced?.type === 'BetPlaced', 'BetPlaced arrived');
      assert.equal(betPlaced.brand, brand, 'brand in the envelope');
      assert.equal(betPlaced.data.amountMinor, 250, 'amount in minor units');
      assert.equal(betPlaced.data.providerTransactionId, bet.transactionId, 'provider transaction id');
      assert.equal(betPlaced.traceparent?.split('-')[1], TRACE_ID, 'trace id of the request is kept');
      assert.ok(Date.parse(betPlaced.committedAt) >= Date.parse(betPlaced.occurredAt), 'committedAt is not before occurredAt');

      await collector.waitFor((all) => all.filter((event) => event.playerId === playerId && event.type === 'BalanceChanged').length === 2, 5000);
      const balanceEvents = collector.events.filter((event) => event.playerId === playerId && event.type === 'BalanceChanged');
      const versions = balanceEvents.map((event) => (event.type === 'BalanceChanged' ? event.data.balanceVersion : 0)).sort();
      assert.deepEqual(versions, [1, 2], 'one BalanceChanged per version');
      const last = balanceEvents.find((event) => event.type === 'BalanceChanged' && event.data.balanceVersion === 2);
      assert.ok(last?.type === 'BalanceChanged', 'BalanceChanged of version 2 arrived');
      assert.equal(last.data.cashMinor, 750, 'BalanceChanged carries the new cash');
    });

    it('marks rows sent only after the broker confirmed them', async () => {
      const playerId = await aPlayer(wallet.app, { deposit: '5.00' });
      await collector.waitFor((events) => events.some((event) => event.playerId === playerId && event.type === 'DepositCompleted'), 5000);

      const deadline = Date.now() + 5000;
      let unsent = -1;
      while (Date.now() < deadline) {
        const result = await wallet.pool.query<{ count: string }>('SELECT count(*) FROM outbox WHERE sent_at IS NULL');
        unsent = Number(result.rows[0]?.count);
        if (unsent === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(unsent, 0, 'no unsent rows once the events arrived');
      const ids = await wallet.pool.query<{ event_id: string }>('SELECT event_id FROM outbox WHERE player_id = $1', [playerId]);
      const received = new Set(collector.events.map((event) => event.id));
      assert.ok(ids.rows.every((row) => received.has(row.event_id)), 'every sent row was received');
    });
  });

  describe('process killed between commit and publish', () => {
    it('the next wallet start publishes every committed event', async () => {
      // The first wallet points at a port where no broker listens, so it can
      // commit but never publish. It is then killed without any cleanup.
      const unreachableBus = 'amqp://croupier:croupier@127.0.0.1:1/nowhere';
      const first = await startWalletProcess({ brand, databaseUrl, amqpUrl: unreachableBus });
      const playerId = uniqueId('player');
      await httpCall(first.baseUrl, '/v1/players', { playerId, currency: 'EUR' }, { 'x-api-key': API_KEY });
      await signedCall(first.baseUrl, '/v1/payments/deposit-completed', PAYMENT_SECRET, {
        paymentReference: uniqueId('dep'), playerId, amount: '100.00', currency: 'EUR', method: 'card',
      });
      for (let index = 0; index < 10; index += 1) {
        const response = await signedCall(first.baseUrl, `/v1/providers/${PROVIDER}/wallet/bet`, PROVIDER_SECRET, aBet(playerId));
        assert.equal(response.status, 200, 'bet committed');
      }
      assert.equal(await stopWalletProcess(first, 'SIGKILL'), null, 'first wallet was killed');

      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
      try {
        const committed = await pool.query<{ event_id: string }>('SELECT event_id FROM outbox WHERE player_id = $1', [playerId]);
        assert.equal(committed.rowCount, 22, 'deposit and 10 bets wrote two events each');
        const unsentBefore = await pool.query('SELECT 1 FROM outbox WHERE player_id = $1 AND sent_at IS NULL', [playerId]);
        assert.equal(unsentBefore.rowCount, 22, 'nothing was published before the kill');

        const collector = await collectEvents(amqpUrl);
        const second = await startWalletProcess({ brand, databaseUrl, amqpUrl });
        try {
          const expected = new Set(committed.rows.map((row) => row.event_id));
          await collector.waitFor((events) => [...expected].every((id) => events.some((event) => event.id === id)), 10_000);
          assert.deepEqual(collector.invalid, [], 'every republished event is valid');
        } finally {
          assert.equal(await stopWalletProcess(second, 'SIGTERM'), 0, `second wallet stops cleanly:\n${second.output()}`);
          await collector.close();
        }

        const unsentAfter = await pool.query('SELECT 1 FROM outbox WHERE player_id = $1 AND sent_at IS NULL', [playerId]);
        assert.equal(unsentAfter.rowCount, 0, 'every row is marked sent');
        await assertLedgerInvariants(pool);
      } finally {
        await pool.end();
      }
    });
  });
});

async function httpCall(baseUrl: string, path: string, body: object, headers: Record<string, string>): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

async function signedCall(baseUrl: string, path: string, secret: string, body: object): Promise<Response> {
  const payload = JSON.stringify(body);
  return fetch(`${baseUrl}${path}`, {
    method: 'POST',
    body: payload,
    headers: { 'content-type': 'application/json', 'x-croupier-signature': signBody(secret, payload) },
  });
}
