/**
 * Wallet calls of the k6 scripts, authenticated the way the wallet checks each
 * kind of caller:
 *   - licensee API (`/v1/players/...`): the `x-api-key` header;
 *   - payment notifications (`/v1/payments/...`) and game provider callbacks
 *     (`/v1/providers/:provider/wallet/...`): `x-croupier-signature:
 *     sha256=<hex HMAC-SHA256 of the exact body bytes>`, with the payment
 *     secret or the provider's secret.
 *
 * Request builders return `{ method, url, body, params }`, the object form that
 * `http.batch` accepts, so setup can send many at once; `send` sends one.
 * Bodies are serialized once and signed as sent, because the wallet verifies
 * the raw bytes before it parses the JSON.
 */

import crypto from 'k6/crypto';
import http from 'k6/http';

export const SIGNATURE_HEADER = 'x-croupier-signature';
export const API_KEY_HEADER = 'x-api-key';

const REQUEST_TIMEOUT = '10s';

/**
 * Reads the wallet's address and the three callers' credentials from the
 * environment. Throws an Error naming each missing variable.
 */
export function readWalletConfig(env) {
  const missing = [];
  const required = function (name) {
    const value = env[name];
    if (value === undefined || value === '') missing.push(name);
    return value;
  };
  const config = {
    baseUrl: String(env.WALLET_URL || 'http://wallet:8080').replace(/\/+$/, ''),
    apiKey: required('WALLET_API_KEY'),
    paymentSecret: required('PAYMENT_SECRET'),
    providerSecret: required('PROVIDER_SECRET'),
    provider: env.PROVIDER || 'default',
  };
  if (missing.length > 0) {
    throw new Error('missing wallet credentials: set ' + missing.join(', ') + ' (in a cluster they come from the brand Secret `credentials`)');
  }
  return config;
}

/** Returns the `x-croupier-signature` value of a body: `sha256=<hex HMAC-SHA256>`. */
export function signBody(secret, body) {
  return 'sha256=' + crypto.hmac('sha256', secret, body, 'hex');
}

function licenseeRequest(wallet, method, path, payload, name) {
  const headers = {};
  headers[API_KEY_HEADER] = wallet.apiKey;
  let body = null;
  if (payload !== undefined) {
    body = JSON.stringify(payload);
    headers['content-type'] = 'application/json';
  }
  return { method: method, url: wallet.baseUrl + path, body: body, params: requestParams(headers, name) };
}

function signedRequest(wallet, path, secret, payload, name) {
  const body = JSON.stringify(payload);
  const headers = { 'content-type': 'application/json' };
  headers[SIGNATURE_HEADER] = signBody(secret, body);
  return { method: 'POST', url: wallet.baseUrl + path, body: body, params: requestParams(headers, name) };
}

// The `name` tag groups requests in the metrics; without it every player id
// in a URL would make a series of its own.
function requestParams(headers, name) {
  return { headers: headers, timeout: REQUEST_TIMEOUT, tags: { name: name } };
}

/** Builds the request that creates a player; the wallet returns 201, or 200 when the player already exists with this currency. */
export function createPlayerRequest(wallet, playerId, currency) {
  return licenseeRequest(wallet, 'POST', '/v1/players', { playerId: playerId, currency: currency }, 'wallet create player');
}

/** Builds the request for a push-gateway token; the wallet returns 201 with `{ token, expiresAt }`. */
export function sessionTokenRequest(wallet, playerId) {
  const path = '/v1/players/' + encodeURIComponent(playerId) + '/session-tokens';
  return licenseeRequest(wallet, 'POST', path, undefined, 'wallet session token');
}

/** Builds a completed card deposit notification, idempotent by `paymentReference`. `amount` is a decimal string in major units. */
export function depositRequest(wallet, deposit) {
  const payload = {
    paymentReference: deposit.paymentReference,
    playerId: deposit.playerId,
    amount: deposit.amount,
    currency: deposit.currency,
    method: 'card',
  };
  return signedRequest(wallet, '/v1/payments/deposit-completed', wallet.paymentSecret, payload, 'wallet deposit');
}

/** Builds a game provider's bet callback, idempotent by (provider, `transactionId`). */
export function betRequest(wallet, bet) {
  const payload = {
    playerId: bet.playerId,
    transactionId: bet.transactionId,
    roundId: bet.roundId,
    gameId: bet.gameId,
    amount: bet.amount,
    currency: bet.currency,
  };
  const path = '/v1/providers/' + encodeURIComponent(wallet.provider) + '/wallet/bet';
  return signedRequest(wallet, path, wallet.providerSecret, payload, 'wallet bet');
}

/** Sends one request built above and returns the k6 response. */
export function send(request) {
  return http.request(request.method, request.url, request.body, request.params);
}

/**
 * Throws an Error when the response status is not one of `statuses`. The
 * message contains the transport error or the start of the body, which
 * contains the wallet's error code.
 */
export function expectStatus(response, statuses, what) {
  if (statuses.indexOf(response.status) !== -1) return response;
  throw new Error(what + ' failed with HTTP ' + response.status + ': ' + describeBody(response));
}

function describeBody(response) {
  if (response.error) return response.error;
  const text = typeof response.body === 'string' ? response.body : '';
  return text.slice(0, 300);
}

/** Fetches a fresh push-gateway token for the player. Throws an Error when the wallet does not issue one. */
export function fetchSessionToken(wallet, playerId) {
  const response = expectStatus(send(sessionTokenRequest(wallet, playerId)), [201], 'session token for ' + playerId);
  return JSON.parse(response.body).token;
}
