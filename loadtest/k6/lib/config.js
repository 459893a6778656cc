/**
 * Load shape and targets of the balance-push scenario, read from k6's `__ENV`
 * (`k6 run -e NAME=value` or the container environment). Every value is
 * checked when the script is loaded, so a typo stops the run before any load
 * starts, with an error that names the variable and the value.
 */

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60 * 1000, h: 60 * 60 * 1000 };
const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses a k6 duration such as `30s`, `2m`, `1m30s` or `500ms` into milliseconds, or returns undefined when it is invalid. */
export function parseDurationMs(text) {
  if (!DURATION_PATTERN.test(text)) return undefined;
  let totalMs = 0;
  let match;
  DURATION_PART.lastIndex = 0;
  while ((match = DURATION_PART.exec(text)) !== null) {
    totalMs += Number(match[1]) * DURATION_UNITS_MS[match[2]];
  }
  return totalMs;
}

function invalid(name, value, expected) {
  return new Error('invalid ' + name + ': ' + JSON.stringify(value) + ' is not ' + expected);
}

function readRaw(env, name, fallback) {
  const value = env[name];
  return value === undefined || value === '' ? fallback : String(value).trim();
}

function readInteger(env, name, fallback, minimum) {
  const text = readRaw(env, name, String(fallback));
  if (!/^\d+$/.test(text) || Number(text) < minimum) throw invalid(name, text, 'an integer of at least ' + minimum);
  return Number(text);
}

function readNumber(env, name, fallback, minimum, maximum) {
  const text = readRaw(env, name, String(fallback));
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value < minimum || value > maximum) {
    throw invalid(name, text, 'a number from ' + minimum + ' to ' + maximum);
  }
  return value;
}

function readDuration(env, name, fallback) {
  const text = readRaw(env, name, fallback);
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw invalid(name, text, 'a positive k6 duration such as 30s, 2m or 1m30s');
  return { text: text, ms: ms };
}

// Only amounts with two decimal places, because the scripts create EUR players.
function readAmountMinor(env, name, fallback) {
  const text = readRaw(env, name, fallback);
  if (!/^\d+(\.\d{1,2})?$/.test(text) || Number(text) <= 0) throw invalid(name, text, 'a positive amount with at most 2 decimal places, such as 0.10');
  return Math.round(Number(text) * 100);
}

/**
 * Returns the run's load shape. Defaults give a run of about three minutes
 * with 100 players. `P99_MS` defaults to the project's target of 10 ms p99
 * commit-to-receive latency.
 */
export function readLoadConfig(env) {
  const players = readInteger(env, 'PLAYERS', 100, 1);
  const ramp = readDuration(env, 'RAMP', '30s');
  const hold = readDuration(env, 'HOLD', '2m');
  const reconnectShare = readNumber(env, 'RECONNECT_SHARE', 0.2, 0, 1);
  const reconnectAt = readDuration(env, 'RECONNECT_AT', Math.round(ramp.ms + hold.ms / 2) + 'ms');
  if (reconnectAt.ms <= ramp.ms || reconnectAt.ms >= ramp.ms + hold.ms) {
    throw invalid('RECONNECT_AT', reconnectAt.text, 'after RAMP (' + ramp.text + ') and before the end of HOLD (' + (ramp.ms + hold.ms) + 'ms after the start)');
  }
  const rate = readInteger(env, 'RATE', 50, 1);
  const walletPreAllocatedVus = readInteger(env, 'WALLET_VUS', Math.max(5, Math.ceil(rate / 20)), 1);
  const walletMaxVus = readInteger(env, 'WALLET_MAX_VUS', Math.max(20, Math.ceil(rate / 4), walletPreAllocatedVus), 1);
  if (walletMaxVus < walletPreAllocatedVus) {
    throw invalid('WALLET_MAX_VUS', String(walletMaxVus), 'at least WALLET_VUS (' + walletPreAllocatedVus + ')');
  }

  return {
    players: players,
    ramp: ramp,
    hold: hold,
    reconnectShare: reconnectShare,
    reconnectAt: reconnectAt,
    // The reconnect storm takes whole players, so a share below one player rounds down to none.
    stormPlayers: Math.floor(players * reconnectShare),
    rate: rate,
    walletPreAllocatedVus: walletPreAllocatedVus,
    walletMaxVus: walletMaxVus,
    betAmountMinor: readAmountMinor(env, 'BET_AMOUNT', '0.10'),
    snapshotTimeout: readDuration(env, 'SNAPSHOT_TIMEOUT', '10s'),
    setupTimeout: readDuration(env, 'SETUP_TIMEOUT', '10m'),
    setupBatchSize: readInteger(env, 'SETUP_BATCH', 20, 1),
    p99Ms: readNumber(env, 'P99_MS', 10, 0.001, 3600000),
    connectErrorRateMax: readNumber(env, 'CONNECT_ERROR_RATE_MAX', 0.01, 0, 1),
    betErrorRateMax: readNumber(env, 'BET_ERROR_RATE_MAX', 0.01, 0, 1),
    // The defaults are the Service names the operator gives a brand, for a run inside the brand namespace.
    gatewayUrl: readRaw(env, 'GATEWAY_URL', 'http://push-gateway:8080'),
    playerPrefix: readRaw(env, 'PLAYER_PREFIX', 'k6'),
    summaryPath: readRaw(env, 'SUMMARY_PATH', 'summary.json'),
  };
}
