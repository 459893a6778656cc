/**
 * Checks of the k6 scenario, its helpers and its Kubernetes manifests.
 *
 * k6 cannot run here, so the scripts are loaded in Node with the `k6/...`
 * imports replaced by minimal stand-ins (support/k6-stand-ins.ts). They do
 * enough to evaluate a module's top level, to sign and send wallet requests,
 * and to drive a player session over `ws` against a real gateway. The
 * manifests go to a real kube-apiserver; the k6-operator's TestRun CRD is not
 * available here, so testrun.yaml is only parsed and cross-checked.
 */

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import WebSocket from 'ws';
import { parseAllDocuments } from 'yaml';
import { HTTP_PORT, WORKLOAD_NAMES } from '../../operator/src/reconcile/desired.js';
import { startTestEnvironment, type TestEnvironment } from '../../operator/test/support/testenv.js';
import { DEMO_PROVIDER, BrandStack, removeBrandData } from '../src/stack/brand-stack.js';
import { REPOSITORY_ROOT } from '../src/stack/service-process.js';
import { loadK6Script, registerK6StandIns, stopK6StandIns, type RecordedMetric, type StandInResponse } from './support/k6-stand-ins.js';

const K6_DIR = path.join(REPOSITORY_ROOT, 'loadtest', 'k6');
const DEPLOY_DIR = path.join(K6_DIR, 'deploy');
const SCENARIO = path.join(K6_DIR, 'balance-push.js');
const runFile = promisify(execFile);

function listScripts(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Imports a k6 library file. Its types are not declared, so callers describe the part they use. */
async function importK6<T>(relativePath: string): Promise<T> {
  registerK6StandIns();
  return (await import(pathToFileURL(path.join(K6_DIR, relativePath)).href)) as T;
}

describe('k6 scripts syntax', () => {
  it('parses every script as an ES module', () => {
    const scripts = listScripts(K6_DIR);
    assert.ok(scripts.length >= 7, `found ${scripts.length} scripts`);
    for (const script of scripts) {
      // loadtest/package.json declares "type": "module", so node --check parses .js files as ES modules.
      const result = spawnSync(process.execPath, ['--check', script], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${path.relative(K6_DIR, script)}: ${result.stderr}`);
    }
  });
});

// ---------------------------------------------------------------------------
// options.scenarios and thresholds, checked against k6's documented rules.
// ---------------------------------------------------------------------------

/** Fields each k6 executor requires (k6 v1 documentation of scenarios and executors). */
const EXECUTOR_REQUIRED_FIELDS: Record<string, string[]> = {
  'shared-iterations': [],
  'per-vu-iterations': [],
  'constant-vus': ['duration'],
  'ramping-vus': ['stages'],
  'constant-arrival-rate': ['rate', 'duration', 'preAllocatedVUs'],
  'ramping-arrival-rate': ['stages', 'preAllocatedVUs'],
  'externally-controlled': ['duration'],
};

/** Metrics k6 itself emits, by type: the built-in, HTTP and k6/websockets metrics. */
const BUILT_IN_METRICS: Record<string, RecordedMetric['type']> = {
  checks: 'rate',
  data_received: 'counter',
  data_sent: 'counter',
  dropped_iterations: 'counter',
  iteration_duration: 'trend',
  iterations: 'counter',
  vus: 'gauge',
  vus_max: 'gauge',
  http_req_blocked: 'trend',
  http_req_connecting: 'trend',
  http_req_duration: 'trend',
  http_req_failed: 'rate',
  http_req_receiving: 'trend',
  http_req_sending: 'trend',
  http_req_tls_handshaking: 'trend',
  http_req_waiting: 'trend',
  http_reqs: 'counter',
  ws_connecting: 'trend',
  ws_msgs_received: 'counter',
  ws_msgs_sent: 'counter',
  ws_ping: 'trend',
  ws_session_duration: 'trend',
  ws_sessions: 'counter',
};

/** Aggregations a threshold may use on each metric type. */
const AGGREGATIONS: Record<RecordedMetric['type'], RegExp> = {
  counter: /^(count|rate)$/,
  gauge: /^value$/,
  rate: /^rate$/,
  trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/,
};

const THRESHOLD_EXPRESSION = /^\s*(count|rate|value|avg|min|max|med|p\(\d+(?:\.\d+)?\))\s*(<=|>=|===|==|!=|<|>)\s*-?\d+(?:\.\d+)?\s*$/;
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

interface Scenario {
  executor: string;
  exec?: string;
  startTime?: string;
  stages?: Array<{ duration: string; target: number }>;
  [field: string]: unknown;
}

interface ScenarioOptions {
  scenarios: Record<string, Scenario>;
  thresholds: Record<string, Array<string | { threshold: string }>>;
  setupTimeout: string;
}

async function loadOptions(env: Record<string, string> = {}): Promise<{ options: ScenarioOptions; exports: Record<string, unknown>; metrics: Map<string, RecordedMetric> }> {
  const { exports, metrics } = await loadK6Script(SCENARIO, env);
  return { options: exports.options as ScenarioOptions, exports, metrics };
}

function metricTypeOf(key: string, metrics: Map<string, RecordedMetric>): RecordedMetric['type'] | undefined {
  const name = key.replace(/\{.*\}$/, '');
  return metrics.get(name)?.type ?? BUILT_IN_METRICS[name];
}

describe('balance-push options', () => {
  it('uses valid executors with their required fields', async () => {
    const { options, exports } = await loadOptions();
    assert.deepEqual(Object.keys(options.scenarios).sort(), ['players', 'reconnect_storm', 'wallet']);

    for (const [name, scenario] of Object.entries(options.scenarios)) {
      const required = EXECUTOR_REQUIRED_FIELDS[scenario.executor];
      assert.ok(required !== undefined, `${name}: unknown executor ${scenario.executor}`);
      for (const field of required) assert.ok(scenario[field] !== undefined, `${name}: ${scenario.executor} requires ${field}`);
      assert.ok(/^[a-zA-Z0-9_-]+$/.test(name), `${name}: scenario names may contain letters, digits, _ and - only`);
      assert.equal(typeof exports[scenario.exec ?? 'default'], 'function', `${name}: exec ${scenario.exec} is not an exported function`);
      for (const stage of scenario.stages ?? []) {
        assert.match(stage.duration, DURATION, `${name}: stage duration`);
        assert.ok(Number.isInteger(stage.target), `${name}: stage target ${stage.target} is an integer`);
        assert.ok(stage.target >= 0, `${name}: stage target ${stage.target} is not negative`);
      }
      for (const field of ['duration', 'startTime', 'gracefulStop', 'gracefulRampDown', 'timeUnit']) {
        if (scenario[field] !== undefined) assert.match(String(scenario[field]), DURATION, `${name}: ${field}`);
      }
    }
    assert.match(options.setupTimeout, DURATION);
    assert.equal(typeof exports.setup, 'function');
    assert.equal(typeof exports.handleSummary, 'function');
  });

  it('names defined metrics in valid thresholds', async () => {
    const { options, metrics } = await loadOptions();
    assert.ok(Object.keys(options.thresholds).length >= 7);

    for (const [key, expressions] of Object.entries(options.thresholds)) {
      const type = metricTypeOf(key, metrics);
      assert.ok(type !== undefined, `threshold on ${key}, which is neither defined by the script nor built into k6`);
      for (const entry of expressions) {
        const expression = typeof entry === 'string' ? entry : entry.threshold;
        const match = THRESHOLD_EXPRESSION.exec(expression);
        assert.ok(match !== null, `${key}: ${JSON.stringify(expression)} is not a k6 threshold expression`);
        assert.match(match[1] as string, AGGREGATIONS[type], `${key}: aggregation ${match[1]} does not apply to a ${type}`);
      }
    }
    assert.equal(metrics.get('commit_to_receive')?.isTime, true, 'commit_to_receive is a time Trend, shown in ms');
    assert.deepEqual(options.thresholds.commit_to_receive, ['p(99)<10'], 'the default p99 target is 10 ms');
    assert.deepEqual(options.thresholds.balance_updates_lost, ['count==0']);
    assert.deepEqual(options.thresholds.balance_updates_out_of_order, ['count==0']);
  });

  it('applies env overrides', async () => {
    const { options } = await loadOptions({ PLAYERS: '500', RECONNECT_SHARE: '0.1', RAMP: '1m', HOLD: '5m', RATE: '800', P99_MS: '25' });
    assert.deepEqual(options.scenarios.players?.stages, [
      { duration: '1m', target: 450 },
      { duration: '5m', target: 450 },
    ]);
    assert.equal(options.scenarios.reconnect_storm?.stages?.[0]?.target, 50);
    assert.equal(options.scenarios.wallet?.rate, 800);
    assert.equal(options.scenarios.wallet?.startTime, '1m');
    assert.equal(options.scenarios.wallet?.duration, '5m');
    assert.deepEqual(options.thresholds.commit_to_receive, ['p(99)<25']);
  });

  it('drops the storm scenario when no player is in it', async () => {
    const { options } = await loadOptions({ PLAYERS: '4', RECONNECT_SHARE: '0.2' });
    assert.deepEqual(Object.keys(options.scenarios).sort(), ['players', 'wallet']);
    assert.equal(options.scenarios.players?.stages?.[0]?.target, 4);
  });

  it('rejects bad env values by name', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PLAYERS: 'abc' }, /invalid PLAYERS: "abc" is not an integer of at least 1/],
      [{ PLAYERS: '0' }, /invalid PLAYERS: "0"/],
      [{ RATE: '-5' }, /invalid RATE: "-5"/],
      [{ RAMP: '5x' }, /invalid RAMP: "5x" is not a positive k6 duration/],
      [{ RECONNECT_SHARE: '1.5' }, /invalid RECONNECT_SHARE: "1.5" is not a number from 0 to 1/],
      [{ RAMP: '30s', HOLD: '1m', RECONNECT_AT: '10s' }, /invalid RECONNECT_AT: "10s" is not after RAMP/],
      [{ P99_MS: 'fast' }, /invalid P99_MS: "fast"/],
      [{ BET_AMOUNT: '0.001' }, /invalid BET_AMOUNT: "0.001"/],
      [{ WALLET_VUS: '50', WALLET_MAX_VUS: '10' }, /invalid WALLET_MAX_VUS: "10" is not at least WALLET_VUS \(50\)/],
    ];
    for (const [env, message] of cases) {
      await assert.rejects(loadOptions(env), message, JSON.stringify(env));
    }
  });

  it('requires wallet credentials only in setup', async () => {
    const { exports } = await loadOptions({ PLAYERS: '2' });
    assert.throws(() => (exports.setup as () => unknown)(), /missing wallet credentials: set WALLET_API_KEY, PAYMENT_SECRET, PROVIDER_SECRET/);
  });
});

// ---------------------------------------------------------------------------
// Pure helpers: delivery bookkeeping and the text summary.
// ---------------------------------------------------------------------------

interface BalanceTrackerLike {
  applySnapshot(version: number): void;
  applyUpdate(version: number): string;
  countMissing(): number;
}

describe('balance tracker', () => {
  let createTracker: () => BalanceTrackerLike;

  before(async () => {
    const module = await importK6<{ BalanceTracker: new () => BalanceTrackerLike }>('lib/balance-tracker.js');
    createTracker = () => new module.BalanceTracker();
  });

  it('counts a gap that never arrives', () => {
    const tracker = createTracker();
    tracker.applySnapshot(10);
    assert.equal(tracker.applyUpdate(11), 'in order');
    assert.equal(tracker.applyUpdate(13), 'in order');
    assert.equal(tracker.countMissing(), 1, 'version 12 is missing');
  });

  it('counts a late version as out of order', () => {
    const tracker = createTracker();
    tracker.applySnapshot(10);
    tracker.applyUpdate(12);
    assert.equal(tracker.applyUpdate(11), 'out of order');
    assert.equal(tracker.applyUpdate(11), 'covered', 'versions up to 12 arrived, so a repeat of 11 is covered');
    assert.equal(tracker.countMissing(), 0);
  });

  it('lets a snapshot cover earlier gaps', () => {
    const tracker = createTracker();
    tracker.applySnapshot(10);
    tracker.applyUpdate(13);
    tracker.applySnapshot(14);
    assert.equal(tracker.countMissing(), 0);
    assert.equal(tracker.applyUpdate(12), 'covered', 'a change older than the snapshot is stale, not out of order');
    assert.equal(tracker.applyUpdate(16), 'in order');
    assert.equal(tracker.countMissing(), 1, 'version 15 is missing');
  });

  it('keeps updates that precede the first snapshot', () => {
    const tracker = createTracker();
    assert.equal(tracker.applyUpdate(5), 'before baseline');
    assert.equal(tracker.countMissing(), 0);
    tracker.applySnapshot(4);
    assert.equal(tracker.applyUpdate(6), 'in order');
    assert.equal(tracker.applyUpdate(6), 'covered');
    assert.equal(tracker.countMissing(), 0, 'version 5 arrived while the snapshot of version 4 was on its way');
  });

  it('counts a duplicate above a gap', () => {
    const tracker = createTracker();
    tracker.applySnapshot(4);
    tracker.applyUpdate(6);
    assert.equal(tracker.applyUpdate(6), 'duplicate');
    assert.equal(tracker.countMissing(), 1);
  });
});

describe('summary formatter', () => {
  it('lists failed thresholds and metric values', async () => {
    const { formatSummary } = await importK6<{ formatSummary: (data: unknown, title: string, extra?: string[]) => string }>('lib/summary.js');
    const data = {
      state: { testRunDurationMs: 12_345 },
      metrics: {
        commit_to_receive: {
          type: 'trend',
          contains: 'time',
          values: { 'p(99)': 12.5, med: 2 },
          thresholds: { 'p(99)<10': { ok: false } },
        },
        socketio_connect_failed: { type: 'rate', contains: 'default', values: { rate: 0.0025, passes: 1, fails: 399 }, thresholds: { 'rate<0.01': { ok: true } } },
        socketio_reconnects: { type: 'counter', contains: 'default', values: { count: 3, rate: 0.5 } },
        vus: { type: 'gauge', contains: 'default', values: { value: 1 } },
      },
    };

    const text = formatSummary(data, 'title line', ['socketio_reconnects', 'not_recorded']);

    assert.ok(text.startsWith('title line\nduration: 12.3 s\n'), text);
    assert.match(text, /thresholds: 1 failed/);
    assert.match(text, /FAILED commit_to_receive p\(99\)<10/);
    assert.match(text, /ok {5}socketio_connect_failed rate<0\.01/);
    assert.match(text, /commit_to_receive: med=2\.000 ms p\(99\)=12\.500 ms/);
    assert.match(text, /socketio_connect_failed: fails=399 passes=1 rate=0\.25%/);
    assert.match(text, /socketio_reconnects: count=3 rate=0\.5000/);
    assert.doesNotMatch(text, /vus|not_recorded/);
  });
});

// ---------------------------------------------------------------------------
// The wallet helper and a player session against a real brand stack.
// ---------------------------------------------------------------------------

interface WalletConfig {
  baseUrl: string;
  apiKey: string;
  paymentSecret: string;
  providerSecret: string;
  provider: string;
}

interface BuiltRequest {
  method: string;
  url: string;
  body: string | null;
  params: { headers: Record<string, string> };
}

interface WalletModule {
  readWalletConfig(env: Record<string, string>): WalletConfig;
  signBody(secret: string, body: string): string;
  createPlayerRequest(wallet: WalletConfig, playerId: string, currency: string): BuiltRequest;
  depositRequest(wallet: WalletConfig, deposit: { paymentReference: string; playerId: string; amount: string; currency: string }): BuiltRequest;
  betRequest(
    wallet: WalletConfig,
    bet: { playerId: string; transactionId: string; roundId: string; gameId: string; amount: string; currency: string },
  ): BuiltRequest;
  send(request: BuiltRequest): StandInResponse;
  fetchSessionToken(wallet: WalletConfig, playerId: string): string;
}

type MetricRecorder = { samples: number[]; add(value: number | boolean): void };

function recorder(): MetricRecorder {
  const samples: number[] = [];
  return { samples, add: (value) => samples.push(Number(value)) };
}

function sum(metric: MetricRecorder): number {
  return metric.samples.reduce((total, value) => total + value, 0);
}

describe('k6 wallet and player session against a live brand', () => {
  const infra = infraSettings();
  const brand = uniqueBrand('k6scn');
  let stack: BrandStack;
  let wallet: WalletModule;
  let walletConfig: WalletConfig;
  let walletEnv: Record<string, string>;

  before(async () => {
    stack = await BrandStack.start({ brand, infra, gatewayReplicas: 1, logDirectory: path.join(REPOSITORY_ROOT, '.infra', 'test-logs') });
    wallet = await importK6<WalletModule>('lib/wallet.js');
    const secrets = stack.demoSecrets;
    walletEnv = {
      WALLET_URL: stack.walletUrl,
      WALLET_API_KEY: secrets.walletApiKey,
      PAYMENT_SECRET: secrets.paymentSecret,
      PROVIDER_SECRET: secrets.providerSecret,
      PROVIDER: DEMO_PROVIDER,
    };
    walletConfig = wallet.readWalletConfig(walletEnv);
  });

  after(async () => {
    await stopK6StandIns();
    const exitCodes = await stack?.stop();
    await removeBrandData(infra, brand);
    assert.deepEqual(exitCodes, [0, 0], 'the gateway and the wallet exit 0 on SIGTERM');
  });

  it('signs bodies as the wallet expects', () => {
    const created = wallet.send(wallet.createPlayerRequest(walletConfig, 'k6-signing', 'EUR'));
    assert.equal(created.status, 201, String(created.body));

    const deposit = wallet.send(wallet.depositRequest(walletConfig, { paymentReference: 'k6-signing-dep', playerId: 'k6-signing', amount: '5.00', currency: 'EUR' }));
    assert.equal(deposit.status, 200, String(deposit.body));
    const bet = wallet.send(
      wallet.betRequest(walletConfig, { playerId: 'k6-signing', transactionId: 'k6-signing-bet', roundId: 'r1', gameId: 'g1', amount: '1.25', currency: 'EUR' }),
    );
    assert.equal(bet.status, 200, String(bet.body));
    assert.equal((bet.json() as { cash: string }).cash, '3.75');

    const token = wallet.fetchSessionToken(walletConfig, 'k6-signing');
    assert.equal(token.split('.').length, 3, 'a JWT');
  });

  it('rejects requests with wrong secrets', () => {
    const forged = { ...walletConfig, providerSecret: 'not-the-provider-secret', paymentSecret: 'not-the-payment-secret' };
    const bet = wallet.send(
      wallet.betRequest(forged, { playerId: 'k6-signing', transactionId: 'k6-forged-bet', roundId: 'r2', gameId: 'g1', amount: '1.00', currency: 'EUR' }),
    );
    assert.equal(bet.status, 401);
    assert.equal((bet.json() as { error: { code: string } }).error.code, 'WALLET_ERR_SIGNATURE_INVALID');

    const deposit = wallet.send(wallet.depositRequest(forged, { paymentReference: 'k6-forged-dep', playerId: 'k6-signing', amount: '1.00', currency: 'EUR' }));
    assert.equal(deposit.status, 401);
    assert.throws(() => wallet.fetchSessionToken({ ...walletConfig, apiKey: 'wrong-key' }, 'k6-signing'), /session token for k6-signing failed with HTTP 401/);
  });

  it('creates and funds players in setup', async () => {
    const { exports } = await loadK6Script(SCENARIO, { ...walletEnv, PLAYERS: '3', RATE: '10', HOLD: '10s', RUN_ID: 'setup1', SETUP_BATCH: '2' });
    const data = (exports.setup as () => { runId: string })();

    assert.deepEqual(data, { runId: 'setup1' });
    for (const index of [0, 1, 2]) {
      const snapshot = await stack.walletApi.snapshot(`k6-setup1-${index}`);
      assert.equal(snapshot.statusCode, 200, `player ${index}`);
      // 10 bets/s for 10 s over 3 players is 34 bets each, so setup deposits (2 × 34 + 10) × 0.10 EUR.
      assert.equal(snapshot.body.cashMinor, 780);
    }
  });

  it('records pushes and a reconnect in a session', async () => {
    const playerId = 'k6-session';
    assert.equal((await stack.walletApi.createPlayer(playerId, 'EUR')).statusCode, 201);
    assert.equal((await stack.walletApi.depositCompleted(playerId, 'k6-session-dep', '100.00', 'EUR')).statusCode, 200);
    const { runPlayerSession } = await importK6<{ runPlayerSession: (options: Record<string, unknown>) => unknown }>('lib/player-session.js');
    const metrics = {
      commitToReceive: recorder(),
      updatesReceived: recorder(),
      updatesLost: recorder(),
      updatesOutOfOrder: recorder(),
      reconnects: recorder(),
      reconnectSnapshotMissing: recorder(),
      reconnectSnapshotStale: recorder(),
      connectFailed: recorder(),
      disconnectsUnexpected: recorder(),
    };
    const startMs = Date.now();
    runPlayerSession({
      WebSocket,
      gatewayUrl: stack.gatewayUrls[0],
      wallet: walletConfig,
      playerId,
      deadlineMs: startMs + 4_000,
      stormAtMs: startMs + 2_000,
      snapshotTimeoutMs: 1_500,
      metrics,
    });

    // Bets before and after the storm, through the k6 helper, each a new balance version.
    const placeBet = (index: number): void => {
      const bet = wallet.betRequest(walletConfig, { playerId, transactionId: `k6-session-bet-${index}`, roundId: `round-${index}`, gameId: 'g1', amount: '0.10', currency: 'EUR' });
      assert.equal(wallet.send(bet).status, 200);
    };
    await new Promise((resolve) => setTimeout(resolve, 700));
    for (const index of [1, 2, 3]) placeBet(index);
    await new Promise((resolve) => setTimeout(resolve, 2_000 - (Date.now() - startMs) + 500));
    for (const index of [4, 5]) placeBet(index);
    await new Promise((resolve) => setTimeout(resolve, 4_000 - (Date.now() - startMs) + 300));

    assert.equal(sum(metrics.updatesReceived), 5, 'five balance:changed pushes');
    assert.equal(metrics.commitToReceive.samples.length, 5);
    const latencies = metrics.commitToReceive.samples.join(', ');
    assert.ok(metrics.commitToReceive.samples.every((ms) => ms >= 0), `negative latency in ${latencies}`);
    assert.ok(metrics.commitToReceive.samples.every((ms) => ms < 2_000), `latency of 2 s or more in ${latencies}`);
    assert.equal(sum(metrics.reconnects), 1, 'one planned reconnect');
    assert.deepEqual(metrics.connectFailed.samples, [0, 0], 'two successful connects');
    assert.equal(sum(metrics.reconnectSnapshotMissing), 0);
    assert.equal(sum(metrics.reconnectSnapshotStale), 0);
    assert.equal(sum(metrics.updatesLost), 0);
    assert.equal(sum(metrics.updatesOutOfOrder), 0);
    assert.equal(sum(metrics.disconnectsUnexpected), 0);
    assert.equal(metrics.updatesLost.samples.length, 1, 'the deadline closed the session once');
  });
});

// ---------------------------------------------------------------------------
// Manifests: the kustomize output on a real kube-apiserver, and the TestRun.
// ---------------------------------------------------------------------------

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

interface Container {
  image: string;
  args: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
  envFrom: Array<{ configMapRef: { name: string; optional?: boolean } }>;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}

interface ConfigMapVolume {
  name: string;
  configMap?: { name: string; items: Array<{ key: string; path: string }> };
}

function parseYamlObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

function kustomizeOutput(directory = DEPLOY_DIR): KubeObject[] {
  const result = spawnSync('kubectl', ['kustomize', '--load-restrictor=LoadRestrictionsNone', directory], { encoding: 'utf8' });
  assert.equal(result.status, 0, `kubectl kustomize failed (is kubectl installed?): ${result.error?.message ?? result.stderr}`);
  return parseYamlObjects(result.stdout);
}

/** Relative imports of a script, such as `./lib/wallet.js`, resolved to paths under loadtest/k6. */
function relativeImports(scriptPath: string): string[] {
  const source = readFileSync(scriptPath, 'utf8');
  const imports = [...source.matchAll(/^import .* from '(\.[^']+)';$/gm)].map((match) => match[1] as string);
  return imports.map((specifier) => path.relative(K6_DIR, path.resolve(path.dirname(scriptPath), specifier)));
}

/** Lists every file the scenario loads, following the imports from balance-push.js. */
function moduleGraph(): string[] {
  const seen = new Set<string>(['balance-push.js']);
  const queue = ['balance-push.js'];
  while (queue.length > 0) {
    const next = queue.shift() as string;
    for (const dependency of relativeImports(path.join(K6_DIR, next))) {
      if (!seen.has(dependency)) {
        seen.add(dependency);
        queue.push(dependency);
      }
    }
  }
  return [...seen].sort();
}

describe('k6 manifests', () => {
  it('mount every module the scenario imports', () => {
    const objects = kustomizeOutput();
    const configMap = objects.find((object) => object.kind === 'ConfigMap');
    const job = objects.find((object) => object.kind === 'Job');
    assert.ok(configMap !== undefined, 'kustomize renders a ConfigMap');
    assert.ok(job !== undefined, 'kustomize renders a Job');
    assert.equal(configMap.metadata.name, 'croupier-k6-scripts');

    const podSpec = (job.spec?.template as { spec: { volumes: ConfigMapVolume[] } }).spec;
    const scripts = podSpec.volumes.find((volume) => volume.name === 'scripts');
    assert.equal(scripts?.configMap?.name, configMap.metadata.name);
    const mounted = Object.fromEntries((scripts?.configMap?.items ?? []).map((item) => [item.path, item.key]));

    const graph = moduleGraph();
    assert.ok(graph.includes('lib/socketio.js'), graph.join(', '));
    assert.ok(graph.includes('lib/wallet.js'), graph.join(', '));
    assert.deepEqual(Object.keys(mounted).sort(), graph, 'the Job mounts exactly the files the scenario imports');
    for (const [relativePath, key] of Object.entries(mounted)) {
      assert.equal(configMap.data?.[key], readFileSync(path.join(K6_DIR, relativePath), 'utf8'), `ConfigMap key ${key} contains ${relativePath}`);
    }
  });

  it('describe the same run in the TestRun', () => {
    const objects = kustomizeOutput();
    const job = objects.find((object) => object.kind === 'Job') as KubeObject;
    const jobPod = (job.spec?.template as { spec: { containers: Container[] } }).spec;
    const jobContainer = jobPod.containers[0] as Container;
    const [testRun] = parseYamlObjects(readFileSync(path.join(DEPLOY_DIR, 'testrun.yaml'), 'utf8'));

    assert.equal(testRun?.apiVersion, 'k6.io/v1alpha1');
    assert.equal(testRun?.kind, 'TestRun');
    const spec = testRun?.spec as {
      parallelism: number;
      script: { configMap: { name: string; file: string } };
      runner: Container & { volumes: ConfigMapVolume[] };
    };
    assert.equal(spec.script.configMap.name, 'croupier-k6-scripts');
    assert.equal(spec.script.configMap.file, 'balance-push.js');
    assert.ok(Number.isInteger(spec.parallelism), 'parallelism is an integer');
    assert.ok(spec.parallelism >= 1, 'parallelism is at least 1');
    assert.equal(spec.runner.image, jobContainer.image);
    assert.deepEqual(spec.runner.env, jobContainer.env, 'the same environment and Secret references');
    assert.deepEqual(spec.runner.envFrom, jobContainer.envFrom);

    // The operator mounts the script's ConfigMap at /test, so the lib files go to /test/lib.
    const lib = spec.runner.volumes.find((volume) => volume.name === 'lib');
    assert.equal(lib?.configMap?.name, 'croupier-k6-scripts');
    const libFiles = (lib?.configMap?.items ?? []).map((item) => `lib/${item.path}`).sort();
    assert.deepEqual(libFiles, moduleGraph().filter((file) => file.startsWith('lib/')));
    assert.ok(spec.runner.volumeMounts.some((mount) => mount.name === 'lib' && mount.mountPath === '/test/lib'), 'the runner mounts lib at /test/lib');
  });

  it('render the scripts alone for the TestRun', () => {
    const scriptsOnly = kustomizeOutput(path.join(DEPLOY_DIR, 'scripts'));
    const full = kustomizeOutput().find((object) => object.kind === 'ConfigMap');

    // Applying the whole folder would create the Job, which starts a run before the TestRun does.
    assert.deepEqual(
      scriptsOnly.map((object) => `${object.kind}/${object.metadata.name}`),
      ['ConfigMap/croupier-k6-scripts'],
    );
    assert.deepEqual(scriptsOnly[0]?.data, full?.data);
  });

  it('open egress from k6 pods to the gateway', () => {
    const objects = kustomizeOutput();
    const job = objects.find((object) => object.kind === 'Job') as KubeObject;
    const policy = objects.find((object) => object.kind === 'NetworkPolicy') as KubeObject;
    const [testRun] = parseYamlObjects(readFileSync(path.join(DEPLOY_DIR, 'testrun.yaml'), 'utf8'));
    const jobPodLabels = (job.spec?.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
    const runnerLabels = (testRun?.spec as { runner: { metadata: { labels: Record<string, string> } } }).runner.metadata.labels;
    const spec = policy.spec as {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      egress: Array<{ to: Array<{ podSelector: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }>;
    };

    // The operator's default-deny policy blocks egress to the gateway for every other pod of the brand namespace.
    assert.deepEqual(spec.policyTypes, ['Egress']);
    for (const [key, value] of Object.entries(spec.podSelector.matchLabels)) {
      assert.equal(jobPodLabels[key], value, `Job pods carry ${key}=${value}`);
      assert.equal(runnerLabels[key], value, `TestRun runner pods carry ${key}=${value}`);
    }
    assert.deepEqual(spec.egress[0]?.to[0]?.podSelector.matchLabels, { 'app.kubernetes.io/name': WORKLOAD_NAMES.gateway });
    assert.deepEqual(
      spec.egress[0]?.ports.map((port) => port.port),
      [HTTP_PORT],
    );
  });

  it('pin the k6 image and run it unprivileged', () => {
    const job = kustomizeOutput().find((object) => object.kind === 'Job') as KubeObject;
    const podSpec = (job.spec?.template as { spec: { securityContext: { runAsNonRoot: boolean; runAsUser: number }; containers: Container[] } }).spec;
    const container = podSpec.containers[0] as Container;

    assert.match(container.image, /^grafana\/k6:\d+\.\d+\.\d+$/, 'a pinned release tag, not latest');
    assert.equal(podSpec.securityContext.runAsNonRoot, true);
    assert.ok(podSpec.securityContext.runAsUser > 0);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.ok(container.resources.requests.cpu !== undefined, 'the container requests CPU');
    assert.ok(container.resources.limits.memory !== undefined, 'the container has a memory limit');
    const summaryPath = container.env.find((variable) => variable.name === 'SUMMARY_PATH')?.value ?? '';
    assert.ok(container.volumeMounts.some((mount) => summaryPath.startsWith(`${mount.mountPath}/`)), 'the summary goes to a writable mount');
  });

  describe('on a kube-apiserver', () => {
    let environment: TestEnvironment;
    let workDirectory: string;
    let kubeconfig: string;
    const namespace = 'brand-k6-check';

    const kubectl = (args: string[], input?: string) =>
      spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', ...(input === undefined ? {} : { input }) });

    before(async () => {
      environment = await startTestEnvironment();
      workDirectory = mkdtempSync(path.join(os.tmpdir(), 'croupier-k6-manifests-'));
      kubeconfig = path.join(workDirectory, 'kubeconfig');
      // A context named kind-* lets scripts/loadtest-kind.sh accept this API server as a kind cluster.
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          `- name: testenv\n  cluster:\n    server: ${environment.apiServerUrl}\n    insecure-skip-tls-verify: true`,
          'users:',
          `- name: admin\n  user:\n    token: ${environment.adminToken}`,
          'contexts:',
          '- name: kind-croupier-test\n  context:\n    cluster: testenv\n    user: admin',
          'current-context: kind-croupier-test',
          '',
        ].join('\n'),
      );
      const created = kubectl(['create', 'namespace', namespace]);
      assert.equal(created.status, 0, created.stderr);
    });

    after(async () => {
      await environment?.stop();
      if (workDirectory !== undefined) rmSync(workDirectory, { recursive: true, force: true });
    });

    it('accepts the Secret, ConfigMap and Job', () => {
      const secret = kubectl(['apply', '--server-side', '-n', namespace, '-f', path.join(DEPLOY_DIR, 'credentials.example.yaml')]);
      assert.equal(secret.status, 0, secret.stderr);
      const rendered = spawnSync('kubectl', ['kustomize', '--load-restrictor=LoadRestrictionsNone', DEPLOY_DIR], { encoding: 'utf8' });
      assert.equal(rendered.status, 0, rendered.stderr);
      const applied = kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], rendered.stdout);
      assert.equal(applied.status, 0, applied.stderr);

      const job = JSON.parse(kubectl(['get', 'job', 'croupier-k6-balance-push', '-n', namespace, '-o', 'json']).stdout) as KubeObject;
      const stored = JSON.parse(kubectl(['get', 'secret', 'credentials', '-n', namespace, '-o', 'json']).stdout) as KubeObject;
      const container = (job.spec?.template as { spec: { containers: Container[] } }).spec.containers[0] as Container;
      for (const variable of container.env) {
        const reference = variable.valueFrom?.secretKeyRef;
        if (reference === undefined) continue;
        assert.equal(reference.name, stored.metadata.name);
        assert.ok(stored.data?.[reference.key] !== undefined, `the Secret has the key ${reference.key} that ${variable.name} reads`);
      }
      const configMap = kubectl(['get', 'configmap', 'croupier-k6-scripts', '-n', namespace, '-o', 'name']);
      assert.equal(configMap.stdout.trim(), 'configmap/croupier-k6-scripts');
    });

    it('rejects an invalid Job', () => {
      // Shows that the API server validates what the test applies: a Job without containers is invalid.
      const [job] = kustomizeOutput().filter((object) => object.kind === 'Job');
      const broken = JSON.parse(JSON.stringify(job)) as KubeObject;
      (broken.spec?.template as { spec: { containers: unknown[] } }).spec.containers = [];
      broken.metadata.name = 'croupier-k6-broken';
      const applied = kubectl(['apply', '--server-side', '--dry-run=server', '-n', namespace, '-f', '-'], JSON.stringify(broken));
      assert.notEqual(applied.status, 0);
      assert.match(applied.stderr, /containers: Required value/);
    });

    it('passes loadtest-kind in dry-run mode', async () => {
      const { stdout } = await runFile('bash', [path.join(REPOSITORY_ROOT, 'scripts', 'loadtest-kind.sh')], {
        env: { ...process.env, KUBECONFIG: kubeconfig, K6_NAMESPACE: namespace, DRY_RUN: '1', PLAYERS: '250' },
        timeout: 60_000,
      });
      assert.match(stdout, /accepted the manifests \(dry run, nothing created\)/);
      assert.match(stdout, /configmap\/croupier-k6-parameters (created|configured) \(server dry run\)/);
    });

    it('stops loadtest-kind outside a kind context', async () => {
      const renamed = readFileSync(kubeconfig, 'utf8').replaceAll('kind-croupier-test', 'production');
      const otherConfig = path.join(workDirectory, 'kubeconfig-production');
      writeFileSync(otherConfig, renamed);
      await assert.rejects(
        runFile('bash', [path.join(REPOSITORY_ROOT, 'scripts', 'loadtest-kind.sh')], { env: { ...process.env, KUBECONFIG: otherConfig, K6_NAMESPACE: namespace } }),
        (error: { stderr: string }) => /current kubectl context is 'production', not a kind cluster/.test(error.stderr),
      );
    });
  });
});
