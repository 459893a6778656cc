/**
 * One simulated player for a k6 iteration: connects to `/player`, stays
 * connected until a deadline, records every balance push, reconnects after an
 * unexpected disconnect, and optionally drops and reconnects at a set time
 * (the reconnect storm).
 *
 * It only registers sockets and timers and returns at once. k6 ends the
 * iteration when the last socket is closed and no timer is left, so the
 * iteration lasts until the deadline. Times are epoch milliseconds of the local clock.
 */

import { BalanceTracker, UpdateOutcome } from './balance-tracker.js';
import { DisconnectReason, SocketIoClient, socketIoUrl } from './socketio.js';
import { fetchSessionToken } from './wallet.js';

const RECONNECT_DELAY_MS_MIN = 500;
const RECONNECT_DELAY_MS_MAX = 10000;

/**
 * Starts one player session and returns its state, or undefined when the
 * deadline has already passed. Options:
 *   - `WebSocket`: the constructor of `k6/websockets` (or `ws` in Node tests);
 *   - `gatewayUrl`, `wallet` (see readWalletConfig), `playerId`;
 *   - `deadlineMs`: when to close for good and count lost updates;
 *   - `stormAtMs`: when to drop and reconnect once, or undefined;
 *   - `snapshotTimeoutMs`: how long a reconnect may wait for its snapshot;
 *   - `metrics`: the k6 metric objects named in balance-push.js.
 */
export function runPlayerSession(options) {
  // A VU can start one more iteration just before its scenario ends, and that iteration has nothing left to measure.
  if (Date.now() >= options.deadlineMs) return undefined;

  const session = {
    options: options,
    metrics: options.metrics,
    tracker: new BalanceTracker(),
    client: undefined,
    stopped: false,
    reconnectTimer: undefined,
    reconnectDelayMs: RECONNECT_DELAY_MS_MIN,
  };

  connect(session, undefined);
  const now = Date.now();
  if (options.stormAtMs !== undefined && options.stormAtMs > now && options.stormAtMs < options.deadlineMs) {
    globalThis.setTimeout(function () {
      dropAndReconnect(session);
    }, options.stormAtMs - now);
  }
  globalThis.setTimeout(function () {
    finish(session);
  }, Math.max(0, options.deadlineMs - now));
  return session;
}

/**
 * Opens one connection. `reconnect`, when set, is `{ versionBefore }`: the
 * highest version the player had, which the new snapshot must not be below.
 */
function connect(session, reconnect) {
  const metrics = session.metrics;
  const options = session.options;
  let token;
  try {
    token = fetchSessionToken(options.wallet, options.playerId);
  } catch (error) {
    metrics.connectFailed.add(true);
    console.error('player ' + options.playerId + ': ' + error.message);
    scheduleReconnect(session, reconnect);
    return;
  }

  const client = new SocketIoClient({
    url: socketIoUrl(options.gatewayUrl),
    WebSocket: options.WebSocket,
    namespace: '/player',
    auth: { token: token },
  });
  session.client = client;
  const attempt = { connected: false, snapshotReceived: false, snapshotTimer: undefined };

  if (reconnect !== undefined) {
    attempt.snapshotTimer = globalThis.setTimeout(function () {
      attempt.snapshotTimer = undefined;
      metrics.reconnectSnapshotMissing.add(1);
    }, options.snapshotTimeoutMs);
  }

  client.on('connect', function () {
    attempt.connected = true;
    session.reconnectDelayMs = RECONNECT_DELAY_MS_MIN;
    metrics.connectFailed.add(false);
  });
  client.on('connect_error', function (error) {
    const code = error && error.data ? error.data.code : undefined;
    console.error('player ' + options.playerId + ': connect_error ' + (code || JSON.stringify(error)));
  });
  client.on('balance:snapshot', function (snapshot) {
    if (reconnect !== undefined && !attempt.snapshotReceived) checkReconnectSnapshot(session, attempt, reconnect, snapshot);
    attempt.snapshotReceived = true;
    session.tracker.applySnapshot(snapshot.balanceVersion);
  });
  client.on('balance:changed', function (update) {
    recordUpdate(session, update);
  });
  client.on('disconnect', function (reason) {
    handleDisconnect(session, client, attempt, reconnect, reason);
  });
}

function checkReconnectSnapshot(session, attempt, reconnect, snapshot) {
  if (attempt.snapshotTimer === undefined) return; // The timeout already counted it as missing.
  globalThis.clearTimeout(attempt.snapshotTimer);
  attempt.snapshotTimer = undefined;
  if (reconnect.versionBefore !== undefined && snapshot.balanceVersion < reconnect.versionBefore) {
    session.metrics.reconnectSnapshotStale.add(1);
  }
}

function recordUpdate(session, update) {
  const metrics = session.metrics;
  // committedAt is stamped by the wallet's clock, so this assumes the clocks agree (same host or synchronized).
  metrics.commitToReceive.add(Date.now() - Date.parse(update.committedAt));
  metrics.updatesReceived.add(1);
  if (session.tracker.applyUpdate(update.balanceVersion) === UpdateOutcome.OUT_OF_ORDER) metrics.updatesOutOfOrder.add(1);
}

function handleDisconnect(session, client, attempt, reconnect, reason) {
  if (!attempt.connected) session.metrics.connectFailed.add(true);
  if (attempt.snapshotTimer !== undefined) {
    // The connection ended before the reconnect's snapshot arrived.
    globalThis.clearTimeout(attempt.snapshotTimer);
    attempt.snapshotTimer = undefined;
    session.metrics.reconnectSnapshotMissing.add(1);
  }
  // A close by this script (the storm or the deadline) reconnects elsewhere or not at all.
  if (reason === DisconnectReason.CLIENT || session.stopped || session.client !== client) return;

  session.metrics.disconnectsUnexpected.add(1, { reason: reason });
  scheduleReconnect(session, reconnect === undefined || attempt.snapshotReceived ? { versionBefore: session.tracker.highestVersion } : reconnect);
}

// Retries with doubling delays and jitter, so a gateway restart does not meet every player at the same instant.
function scheduleReconnect(session, reconnect) {
  if (session.stopped) return;
  const delayMs = session.reconnectDelayMs * (0.5 + Math.random() / 2);
  session.reconnectDelayMs = Math.min(session.reconnectDelayMs * 2, RECONNECT_DELAY_MS_MAX);
  session.reconnectTimer = globalThis.setTimeout(function () {
    session.reconnectTimer = undefined;
    session.metrics.reconnects.add(1);
    connect(session, reconnect === undefined ? { versionBefore: session.tracker.highestVersion } : reconnect);
  }, delayMs);
}

function dropAndReconnect(session) {
  if (session.stopped) return;
  if (session.reconnectTimer !== undefined) globalThis.clearTimeout(session.reconnectTimer);
  session.reconnectTimer = undefined;
  const versionBefore = session.tracker.highestVersion;
  if (session.client !== undefined) session.client.close();
  session.metrics.reconnects.add(1);
  connect(session, { versionBefore: versionBefore });
}

function finish(session) {
  if (session.stopped) return;
  session.stopped = true;
  if (session.reconnectTimer !== undefined) globalThis.clearTimeout(session.reconnectTimer);
  if (session.client !== undefined) session.client.close();

  // Adding zeros makes every counter appear in the summary, so its threshold is evaluated even when nothing went wrong.
  const metrics = session.metrics;
  metrics.updatesLost.add(session.tracker.countMissing());
  metrics.updatesOutOfOrder.add(0);
  metrics.reconnectSnapshotMissing.add(0);
  metrics.reconnectSnapshotStale.add(0);
}
