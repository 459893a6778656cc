import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { signBody } from '../src/auth/hmac.js';
import { WALLET_ERRORS } from '../src/errors.js';
import { aBet, aPlayer } from './support/builders.js';
import { createTestDatabase } from './support/database.js';
import { API_KEY, errorCode, PROVIDER, PROVIDER_SECRET, providerCall, startTestWallet, type TestWallet } from './support/wallet.js';

const BET_URL = `/v1/providers/${PROVIDER}/wallet/bet`;

describe('HTTP and authentication', () => {
  let wallet: TestWallet;
  let dropDatabase: () => Promise<void>;
  let playerId: string;

  before(async () => {
    const database = await createTestDatabase(infraSettings().pgUrl);
    dropDatabase = database.drop;
    wallet = await startTestWallet({ databaseUrl: database.url, brand: uniqueBrand('wallet'), bodyLimitBytes: 4096 });
    playerId = await aPlayer(wallet.app, { deposit: '10.00' });
  });

  after(async () => {
    await wallet.close();
    await dropDatabase();
  });

  function postSigned(url: string, payload: string, headers: Record<string, string> = {}) {
    return wallet.app.inject({
      method: 'POST',
      url,
      payload,
      headers: { 'content-type': 'application/json', 'x-croupier-signature': signBody(PROVIDER_SECRET, payload), ...headers },
    });
  }

  describe('provider signatures', () => {
    it('missing signature is 401', async () => {
      const response = await wallet.app.inject({
        method: 'POST', url: BET_URL, payload: JSON.stringify(aBet(playerId)), headers: { 'content-type': 'application/json' },
      });
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response), 'WALLET_ERR_SIGNATURE_MISSING');
    });

    it('signature of another body is 401', async () => {
      const response = await postSigned(BET_URL, JSON.stringify(aBet(playerId)), {
        'x-croupier-signature': signBody(PROVIDER_SECRET, '{"other":true}'),
      });
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response), 'WALLET_ERR_SIGNATURE_INVALID');
    });

    it('signature with the wrong secret is 401', async () => {
      const payload = JSON.stringify(aBet(playerId));
      const response = await postSigned(BET_URL, payload, { 'x-croupier-signature': signBody('not-the-secret-at-all', payload) });
      assert.equal(errorCode(response), 'WALLET_ERR_SIGNATURE_INVALID');
    });

    it('malformed signature header is 401', async () => {
      const response = await postSigned(BET_URL, JSON.stringify(aBet(playerId)), { 'x-croupier-signature': 'sha256=zz' });
      assert.equal(errorCode(response), 'WALLET_ERR_SIGNATURE_INVALID');
    });

    it('unknown provider is 401', async () => {
      const response = await postSigned('/v1/providers/nobody/wallet/bet', JSON.stringify(aBet(playerId)));
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response), 'WALLET_ERR_PROVIDER_UNKNOWN');
    });

    it('re-serialized body fails the signature', async () => {
      const payload = JSON.stringify(aBet(playerId));
      const signature = signBody(PROVIDER_SECRET, payload);
      const response = await postSigned(BET_URL, JSON.stringify(JSON.parse(payload), null, 2), { 'x-croupier-signature': signature });
      assert.equal(errorCode(response), 'WALLET_ERR_SIGNATURE_INVALID', 'the raw bytes are signed, not the parsed JSON');
    });

    it('payments with the provider secret are 401', async () => {
      const payload = JSON.stringify({ paymentReference: 'p-1', playerId, amount: '1.00', currency: 'EUR', method: 'card' });
      const response = await postSigned('/v1/payments/deposit-completed', payload);
      assert.equal(errorCode(response), 'WALLET_ERR_SIGNATURE_INVALID');
    });
  });

  describe('API keys', () => {
    it('missing API key is 401', async () => {
      const response = await wallet.app.inject({ method: 'GET', url: `/v1/players/${playerId}` });
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response), 'WALLET_ERR_API_KEY_MISSING');
    });

    it('wrong API key is 401', async () => {
      const response = await wallet.app.inject({ method: 'GET', url: `/v1/players/${playerId}`, headers: { 'x-api-key': 'wrong-key-0123456789' } });
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response), 'WALLET_ERR_API_KEY_INVALID');
    });

    it('valid API key reads the player', async () => {
      const response = await wallet.app.inject({ method: 'GET', url: `/v1/players/${playerId}`, headers: { 'x-api-key': API_KEY } });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().playerId, playerId);
    });

    it('unauthenticated malformed body is 401, not 400', async () => {
      const response = await wallet.app.inject({
        method: 'POST', url: '/v1/players', payload: '{not json', headers: { 'content-type': 'application/json' },
      });
      assert.equal(errorCode(response), 'WALLET_ERR_API_KEY_MISSING');
    });
  });

  describe('request bodies', () => {
    it('malformed JSON is 400', async () => {
      const response = await postSigned(BET_URL, '{"playerId": ');
      assert.equal(response.statusCode, 400);
      assert.equal(errorCode(response), 'WALLET_ERR_MALFORMED_JSON');
    });

    it('empty JSON body is 400', async () => {
      const response = await postSigned(BET_URL, '');
      assert.equal(response.statusCode, 400);
      assert.equal(errorCode(response), 'WALLET_ERR_MALFORMED_JSON');
    });

    it('JSON array body is a validation error', async () => {
      const response = await postSigned(BET_URL, '[]');
      assert.equal(response.statusCode, 400);
      assert.equal(errorCode(response), 'WALLET_ERR_VALIDATION');
    });

    it('oversized body is 413', async () => {
      const payload = JSON.stringify({ ...aBet(playerId), padding: 'x'.repeat(5000) });
      const response = await postSigned(BET_URL, payload);
      assert.equal(response.statusCode, 413);
      assert.equal(errorCode(response), 'WALLET_ERR_BODY_TOO_LARGE');
    });

    it('non-JSON content type is 415', async () => {
      const response = await postSigned(BET_URL, 'playerId=x', { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(response.statusCode, 415);
      assert.equal(errorCode(response), 'WALLET_ERR_UNSUPPORTED_MEDIA_TYPE');
    });

    it('unknown field is rejected', async () => {
      const response = await providerCall(wallet.app, 'bet', { ...aBet(playerId), ammount: '1.00' });
      assert.equal(response.statusCode, 400);
      assert.equal(errorCode(response), 'WALLET_ERR_VALIDATION');
      assert.match(response.json().error.message, /additional properties/i, 'message names the problem');
    });

    it('missing field is rejected', async () => {
      const { roundId: _roundId, ...withoutRound } = aBet(playerId);
      const response = await providerCall(wallet.app, 'bet', withoutRound);
      assert.equal(errorCode(response), 'WALLET_ERR_VALIDATION');
      assert.match(response.json().error.message, /roundId/, 'message names the field');
    });

    it('unknown route is 404 with a code', async () => {
      const response = await wallet.app.inject({ method: 'GET', url: '/v1/nothing' });
      assert.equal(response.statusCode, 404);
      assert.equal(errorCode(response), 'WALLET_ERR_ROUTE_NOT_FOUND');
    });
  });

  describe('operations endpoints', () => {
    it('healthz answers ok', async () => {
      const response = await wallet.app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(response.statusCode, 200);
    });

    it('readyz is 503 without a bus', async () => {
      const response = await wallet.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(response.statusCode, 503);
      assert.deepEqual(response.json(), { status: 'not ready', database: true, bus: false });
    });

    it('metrics include the request histogram by route', async () => {
      await providerCall(wallet.app, 'balance', { playerId });
      const response = await wallet.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(response.statusCode, 200);
      assert.match(response.body, /wallet_http_request_duration_seconds_count\{[^}]*route="\/v1\/providers\/:provider\/wallet\/balance"/);
      assert.match(response.body, /wallet_outbox_backlog_events/, 'backlog gauge');
      assert.match(response.body, /wallet_outbox_commit_to_publish_seconds/, 'commit-to-publish histogram');
    });

    it('OpenAPI document lists every API path', async () => {
      const response = await wallet.app.inject({ method: 'GET', url: '/docs/openapi.json' });
      assert.equal(response.statusCode, 200);
      const paths = Object.keys(response.json().paths as object);
      for (const path of [
        '/v1/providers/{provider}/wallet/bet',
        '/v1/providers/{provider}/wallet/win',
        '/v1/providers/{provider}/wallet/rollback',
        '/v1/providers/{provider}/wallet/end-round',
        '/v1/providers/{provider}/wallet/balance',
        '/v1/payments/deposit-completed',
        '/v1/payments/withdrawal-requested',
        '/v1/payments/withdrawal-completed',
        '/v1/payments/withdrawal-failed',
        '/v1/players/',
        '/v1/players/{playerId}',
        '/v1/players/{playerId}/status',
        '/v1/players/{playerId}/kyc-status',
        '/v1/players/{playerId}/bonus-credits',
        '/v1/players/{playerId}/balance',
        '/v1/players/{playerId}/session-tokens',
      ]) {
        assert.ok(paths.includes(path), `OpenAPI has ${path}`);
      }
    });
  });

  it('every error code the database returns is in the registry', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const directory = new URL('../src/db/migrations/', import.meta.url);
    for (const name of await readdir(directory)) {
      const sql = await readFile(new URL(name, directory), 'utf8');
      for (const code of sql.match(/WALLET_ERR_[A-Z_]+/g) ?? []) {
        assert.ok(Object.hasOwn(WALLET_ERRORS, code), `${code} in ${name} is in the registry`);
      }
    }
  });

  it('README lists every error code', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, definition] of Object.entries(WALLET_ERRORS)) {
      assert.ok(readme.includes(`| \`${code}\` | ${definition.statusCode} |`), `README row for ${code}`);
    }
  });
});
