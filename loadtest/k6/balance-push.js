/**
 * k6 scenario of the real-time balance path. Players connect to the push
 * gateway's `/player` namespace and stay connected while game provider bets
 * arrive at a constant rate. At RECONNECT_AT a share of the players drops and
 * reconnects. Every `balance:changed` records its commit-to-receive latency.
 *
 * Scenarios (see lib/config.js for every variable and its default):
 *   - `players`: ramping-vus to PLAYERS minus the storm players, one socket.io
 *     connection per VU, held until the end of HOLD;
 *   - `reconnect_storm`: the same ramp to floor(PLAYERS x RECONNECT_SHARE)
 *     players, which also drop and reconnect at RECONNECT_AT, and must then
 *     get a fresh snapshot no older than what they had;
 *   - `wallet`: constant-arrival-rate bet callbacks, RATE per second during
 *     HOLD, spread round-robin over all players.
 * A separate scenario for the storm players keeps the storm free of shared
 * state (k6 VUs share nothing) and tags their metrics with its name.
 *
 * Example: k6 run -e GATEWAY_URL=http://127.0.0.1:3000 -e WALLET_URL=http://127.0.0.1:3001 \
 *   -e WALLET_API_KEY=... -e PAYMENT_SECRET=... -e PROVIDER_SECRET=... -e PLAYERS=500 balance-push.js
 */

import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import { WebSocket } from 'k6/websockets';
import { readLoadConfig } from './lib/config.js';
import { runPlayerSession } from './lib/player-session.js';
import { formatSummary } from './lib/summary.js';
import { betRequest, createPlayerRequest, depositRequest, expectStatus, readWalletConfig, send } from './lib/wallet.js';

const load = readLoadConfig(__ENV);
const CURRENCY = 'EUR';

const metrics = {
  commitToReceive: new Trend('commit_to_receive', true),
  updatesReceived: new Counter('balance_updates_received'),
  updatesLost: new Counter('balance_updates_lost'),
  updatesOutOfOrder: new Counter('balance_updates_out_of_order'),
  reconnects: new Counter('socketio_reconnects'),
  reconnectSnapshotMissing: new Counter('reconnect_snapshot_missing'),
  reconnectSnapshotStale: new Counter('reconnect_snapshot_stale'),
  connectFailed: new Rate('socketio_connect_failed'),
  disconnectsUnexpected: new Counter('socketio_disconnects_unexpected'),
};
const betFailed = new Rate('wallet_bet_failed');

function playerStages(target) {
  return [
    { duration: load.ramp.text, target: target },
    { duration: load.hold.text, target: target },
  ];
}

function buildScenarios() {
  const steadyPlayers = load.players - load.stormPlayers;
  const scenarios = {};
  // A scenario with no VUs would be rejected by k6, so each player group exists only when it has players.
  if (steadyPlayers > 0) {
    scenarios.players = { executor: 'ramping-vus', exec: 'holdConnection', startVUs: 0, stages: playerStages(steadyPlayers), gracefulRampDown: '0s', gracefulStop: '30s' };
  }
  if (load.stormPlayers > 0) {
    scenarios.reconnect_storm = { executor: 'ramping-vus', exec: 'holdConnectionThroughStorm', startVUs: 0, stages: playerStages(load.stormPlayers), gracefulRampDown: '0s', gracefulStop: '30s' };
  }
  scenarios.wallet = {
    executor: 'constant-arrival-rate',
    exec: 'placeBet',
    rate: load.rate,
    timeUnit: '1s',
    duration: load.hold.text,
    startTime: load.ramp.text,
    preAllocatedVUs: load.walletPreAllocatedVus,
    maxVUs: load.walletMaxVus,
  };
  return scenarios;
}

export const options = {
  scenarios: buildScenarios(),
  setupTimeout: load.setupTimeout.text,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(99)', 'p(99.9)', 'count'],
  thresholds: {
    commit_to_receive: ['p(99)<' + load.p99Ms],
    // Without pushes every other threshold would pass on an empty run.
    balance_updates_received: ['count>0'],
    balance_updates_lost: ['count==0'],
    balance_updates_out_of_order: ['count==0'],
    reconnect_snapshot_missing: ['count==0'],
    reconnect_snapshot_stale: ['count==0'],
    socketio_connect_failed: ['rate<' + load.connectErrorRateMax],
    wallet_bet_failed: ['rate<' + load.betErrorRateMax],
  },
};

/** Returns the id of player `index` in the run. Ids derive from the run id, so VUs need no list from setup. */
export function playerIdOf(runId, index) {
  return load.playerPrefix + '-' + runId + '-' + index;
}

// Twice the bets that the run places on a player, plus ten bets, so no bet fails for lack of funds.
function depositAmount() {
  const betsPerPlayer = Math.ceil((load.rate * load.hold.ms) / 1000 / load.players);
  const minor = (betsPerPlayer * 2 + 10) * load.betAmountMinor;
  return (minor / 100).toFixed(2);
}

/**
 * Creates and funds the players, SETUP_BATCH requests at a time. Returns only
 * the run id: k6 copies setup's result into every VU, so a list of tokens for
 * thousands of players would be copied thousands of times. Each player VU
 * fetches its own token when it connects.
 */
export function setup() {
  const wallet = readWalletConfig(__ENV);
  const runId = __ENV.RUN_ID || Date.now().toString(36);
  const amount = depositAmount();

  for (let first = 0; first < load.players; first += load.setupBatchSize) {
    const indexes = [];
    for (let index = first; index < Math.min(first + load.setupBatchSize, load.players); index += 1) indexes.push(index);

    const created = http.batch(indexes.map((index) => createPlayerRequest(wallet, playerIdOf(runId, index), CURRENCY)));
    created.forEach((response, position) => expectStatus(response, [200, 201], 'creating player ' + playerIdOf(runId, indexes[position])));

    const deposits = indexes.map((index) =>
      depositRequest(wallet, { paymentReference: runId + '-funding-' + index, playerId: playerIdOf(runId, index), amount: amount, currency: CURRENCY }),
    );
    http.batch(deposits).forEach((response, position) => expectStatus(response, [200], 'funding player ' + playerIdOf(runId, indexes[position])));
  }
  return { runId: runId };
}

function startSession(data, firstIndex, count, stormAtMs) {
  // iterationInTest is unique per scenario across the whole test, also when
  // k6-operator splits it over several pods, so each VU takes its own player.
  // NOTE: an iteration that ends early (its token request threw) is followed
  // by a new one with a new index, which may take a player already connected.
  const index = firstIndex + (exec.scenario.iterationInTest % count);
  const scenarioStartMs = exec.scenario.startTime;
  runPlayerSession({
    WebSocket: WebSocket,
    gatewayUrl: load.gatewayUrl,
    wallet: readWalletConfig(__ENV),
    playerId: playerIdOf(data.runId, index),
    deadlineMs: scenarioStartMs + load.ramp.ms + load.hold.ms,
    stormAtMs: stormAtMs === undefined ? undefined : scenarioStartMs + stormAtMs,
    snapshotTimeoutMs: load.snapshotTimeout.ms,
    metrics: metrics,
  });
}

/** Runs the `players` scenario on players 0 to PLAYERS - storm players - 1. */
export function holdConnection(data) {
  startSession(data, 0, load.players - load.stormPlayers, undefined);
}

/** Runs the `reconnect_storm` scenario on the last floor(PLAYERS x RECONNECT_SHARE) players, which also reconnect at RECONNECT_AT. */
export function holdConnectionThroughStorm(data) {
  startSession(data, load.players - load.stormPlayers, load.stormPlayers, load.reconnectAt.ms);
}

/** Runs one iteration of the `wallet` scenario: a bet callback on the next player, round-robin. */
export function placeBet(data) {
  const wallet = readWalletConfig(__ENV);
  const iteration = exec.scenario.iterationInTest;
  const reference = data.runId + '-bet-' + iteration;
  const response = send(
    betRequest(wallet, {
      playerId: playerIdOf(data.runId, iteration % load.players),
      transactionId: reference,
      roundId: reference,
      gameId: 'k6-balance-push',
      amount: (load.betAmountMinor / 100).toFixed(2),
      currency: CURRENCY,
    }),
  );
  betFailed.add(response.status !== 200);
  if (response.status !== 200) console.error('bet ' + reference + ' failed with HTTP ' + response.status + ': ' + String(response.body).slice(0, 200));
}

const SUMMARY_EXTRA_METRICS = ['socketio_reconnects', 'socketio_disconnects_unexpected', 'http_req_duration', 'dropped_iterations'];

/** Writes k6's full summary as JSON to SUMMARY_PATH and a short text to stdout. */
export function handleSummary(data) {
  const title =
    'balance-push: ' + load.players + ' players (' + load.stormPlayers + ' in the reconnect storm), ' + load.rate + ' bets/s, p99 target ' + load.p99Ms + ' ms';
  const outputs = { stdout: formatSummary(data, title, SUMMARY_EXTRA_METRICS) };
  outputs[load.summaryPath] = JSON.stringify(data, null, 2);
  return outputs;
}
