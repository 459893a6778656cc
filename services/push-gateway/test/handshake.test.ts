import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PLAYER_NAMESPACE, type HandshakeErrorCode } from '@croupier/shared/contracts';
import { io } from 'socket.io-client';
import {
  connectPlayer,
  readMetric,
  seedPlayer,
  startTestGateway,
  useBrandFixture,
  waitFor,
  waitForBalanceVersion,
  waitForState,
} from './helpers/fixtures.js';
import { buildPlayerToken, tamperToken } from './helpers/tokens.js';

describe('handshake authentication', () => {
  const brand = useBrandFixture('auth');
  const { resources } = brand;

  const rejectionCases: { name: string; code: HandshakeErrorCode; token: (playerId: string) => string }[] = [
    { name: 'missing token', code: 'GATEWAY_ERR_TOKEN_MISSING', token: () => '' },
    {
      name: 'tampered token',
      code: 'GATEWAY_ERR_TOKEN_INVALID',
      token: (playerId) => tamperToken(buildPlayerToken({ secret: brand.fixture.secret, playerId, brand: brand.fixture.brand })),
    },
    {
      name: 'token signed with another secret',
      code: 'GATEWAY_ERR_TOKEN_INVALID',
      token: (playerId) => buildPlayerToken({ secret: 'x'.repeat(64), playerId, brand: brand.fixture.brand }),
    },
    {
      name: 'token of another brand',
      code: 'GATEWAY_ERR_BRAND_MISMATCH',
      token: (playerId) => buildPlayerToken({ secret: brand.fixture.secret, playerId, brand: `${brand.fixture.brand}-other` }),
    },
  ];

  for (const rejection of rejectionCases) {
    test(`${rejection.name} rejected`, async () => {
      const gateway = await startTestGateway(brand.fixture, resources);
      const playerId = seedPlayer(brand.fixture);

      const client = connectPlayer(resources, { url: gateway.url, getToken: () => Promise.resolve(rejection.token(playerId)) });
      const change = await waitForState(client, 'rejected');

      assert.equal(change.code, rejection.code, `rejected with ${rejection.code}`);
      assert.equal(client.balance, undefined, 'no balance was sent');
      assert.equal(
        await readMetric(gateway.url, 'push_gateway_handshake_failures_total', { code: rejection.code }),
        1,
        'the failure is counted by code',
      );
      assert.equal(brand.fixture.wallet.requestCount(playerId), 0, 'the wallet was not asked for a rejected player');
    });
  }

  test('expired token rejected with its code', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture);
    const expired = buildPlayerToken({ secret: brand.fixture.secret, playerId, brand: brand.fixture.brand, expiresInSeconds: -60 });

    const codes: string[] = [];
    const client = connectPlayer(resources, { url: gateway.url, getToken: () => Promise.resolve(expired) });
    client.on('connectionState', (change) => {
      if (change.code !== undefined) codes.push(change.code);
    });
    await waitFor(() => codes.length >= 2 || undefined, 'two rejections');

    assert.equal(codes[0], 'GATEWAY_ERR_TOKEN_EXPIRED', 'rejected as expired');
    assert.equal(codes[1], 'GATEWAY_ERR_TOKEN_EXPIRED', 'the retry with the same token is rejected as expired again');
    assert.notEqual(client.state, 'rejected', 'an expired token is retried, not given up on');
  });

  test('token hook refreshes an expired token', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 4 });
    let calls = 0;
    const getToken = (): Promise<string> => {
      calls += 1;
      const expiresInSeconds = calls === 1 ? -60 : 300;
      return Promise.resolve(buildPlayerToken({ secret: brand.fixture.secret, playerId, brand: brand.fixture.brand, expiresInSeconds }));
    };

    const client = connectPlayer(resources, { url: gateway.url, getToken });
    await waitForBalanceVersion(client, 4);

    assert.equal(calls, 2, 'the hook was called again after the expired rejection');
    assert.equal(client.state, 'connected', 'the client connected with the fresh token');
    assert.equal(
      await readMetric(gateway.url, 'push_gateway_handshake_failures_total', { code: 'GATEWAY_ERR_TOKEN_EXPIRED' }),
      1,
      'one expired handshake counted',
    );
  });

  test('failing token hook is retried', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture, { balanceVersion: 2 });
    let calls = 0;
    const errors: Error[] = [];
    const getToken = (): Promise<string> => {
      calls += 1;
      if (calls === 1) return Promise.reject(new Error('token service unavailable'));
      return Promise.resolve(buildPlayerToken({ secret: brand.fixture.secret, playerId, brand: brand.fixture.brand }));
    };

    const client = connectPlayer(resources, { url: gateway.url, getToken });
    client.on('error', (error) => errors.push(error));
    await waitForBalanceVersion(client, 2);

    assert.equal(errors[0]?.message, 'token service unavailable', 'the hook failure is reported');
    assert.equal(client.state, 'connected', 'the client connected on the next attempt');
  });

  test('non-string token rejected as invalid', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const socket = io(`${gateway.url}${PLAYER_NAMESPACE}`, { forceNew: true, reconnection: false, auth: { token: 12345 } });
    resources.add(() => {
      socket.disconnect();
    });

    const error = await new Promise<Error & { data?: { code?: string } }>((resolve) => socket.once('connect_error', resolve));

    assert.equal(error.data?.code, 'GATEWAY_ERR_TOKEN_INVALID', 'a number is not a token');
  });
});
