import { Worker } from 'node:worker_threads';
import { LatencyRecorder, type LatencySummary } from '../latency.js';
import { readCpuSeconds, subtractCpuSeconds, type CpuSeconds } from '../bench/cpu-usage.js';
import { runOpenLoop } from '../bench/open-loop.js';
import { addCounts, emptyCounts, type DeliveryCounts } from './delivery.js';
import type { HarnessOptions } from './options.js';
import type { FromWorker, ToWorker, WorkerPlayer, WorkerReport, WorkerSetup } from './protocol.js';
import type { LoadTarget } from './targets.js';
import { Timeline, type TimelinePoint } from './timeline.js';

/** Percentiles the distribution plot and the JSON result carry. */
export const DISTRIBUTION_PERCENTILES = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100];

export interface TargetRun {
  target: LoadTarget['kind'];
  players: number;
  connected: number;
  connectErrors: Record<string, number>;
  /** Seconds from the first connection to the last player's first snapshot. */
  rampSeconds: number;
  driver: {
    ratePerSecondTarget: number;
    sent: number;
    committed: number;
    /** Calls that failed, plus calls still unanswered after the grace period. */
    failed: number;
    achievedRatePerSecond: number;
    /** Latency from each call's due time to its response, so queueing counts. */
    callLatency: LatencySummary;
  };
  delivery: DeliveryCounts & { behindAtEnd: number };
  storm: { atSecond: number | null; dropped: number; dropToSnapshot: LatencySummary };
  commitToReceive: LatencySummary;
  /**
   * The same latency split at the storm: the steady state before it, and the
   * storm with what follows. Without a storm, `beforeStorm` covers the whole run.
   */
  phases: { beforeStorm: LatencySummary; fromStorm: LatencySummary | null };
  /** Percentiles of the steady state before the storm, for the distribution plot. */
  distributionBeforeStorm: Array<{ percentile: number; ms: number }>;
  negativeLatencySamples: number;
  distribution: Array<{ percentile: number; ms: number }>;
  /** One point per second after the driver started. */
  timeline: TimelinePoint[];
  cpuSeconds: CpuSeconds;
}

const FINISH_TIMEOUT_MS = 30_000;

interface WorkerState {
  worker: Worker;
  connected: number;
  pushesSinceProgress: number;
}

/**
 * Runs the scenario against one target: ramps the players up over the
 * workers, drives balance changes at a fixed arrival rate, sets off the
 * reconnect storm, and merges what the workers measured.
 */
export async function runScenario(target: LoadTarget, options: HarnessOptions, log: (message: string) => void): Promise<TargetRun> {
  const playerIds = Array.from({ length: options.players }, (_, index) => `lt-${index}`);
  const tokens = await target.preparePlayers(playerIds);
  log(`${target.kind}: ${playerIds.length} players prepared`);

  const slices: WorkerPlayer[][] = Array.from({ length: options.workers }, () => []);
  playerIds.forEach((playerId, index) => {
    slices[index % options.workers]?.push({ playerId, url: target.urls[index % target.urls.length] as string, token: tokens[index] as string });
  });

  const timeline = new Timeline();
  const reports: WorkerReport[] = [];
  const connectErrors: Record<string, number> = {};
  let dropped = 0;
  const connectTimeoutMs = Math.max(60_000, (options.players / options.connectRatePerSecond) * 3_000);
  const rampStartedMs = Date.now();

  const states = slices.map((players, workerId) => {
    const setup: WorkerSetup = { workerId, players, connectRatePerSecond: options.connectRatePerSecond / options.workers, connectTimeoutMs };
    return { worker: startWorker(setup), connected: 0, pushesSinceProgress: 0 } satisfies WorkerState;
  });
  const connectedAll = collect(states, 'connected', (state, message) => {
    state.connected = message.connected;
    for (const [code, count] of Object.entries(message.connectErrors)) connectErrors[code] = (connectErrors[code] ?? 0) + count;
  });
  for (const state of states) {
    state.worker.on('message', (message: FromWorker) => {
      if (message.type === 'tick') {
        state.pushesSinceProgress += message.pushes;
        state.connected = message.connected;
        timeline.add(message.buckets);
      } else if (message.type === 'reconnect-started') {
        dropped += message.dropped;
      }
    });
  }

  let stormTimer: ReturnType<typeof setTimeout> | undefined;
  let progress: ReturnType<typeof setInterval> | undefined;
  try {
    await connectedAll;
    const rampSeconds = (Date.now() - rampStartedMs) / 1000;
    const connected = states.reduce((total, state) => total + state.connected, 0);
    log(`${target.kind}: ${connected} of ${options.players} players connected in ${rampSeconds.toFixed(1)} s`);

    const committedVersions = new Map<string, number>();
    let committed = 0;
    const cpuBefore = readCpuSeconds(target.processes);
    const driverStartedMs = Date.now();
    const stormAtMs = options.reconnectShare > 0 ? options.reconnectAtSeconds * 1000 : undefined;
    if (stormAtMs !== undefined) stormTimer = setTimeout(() => post(states, { type: 'reconnect', share: options.reconnectShare }), stormAtMs);
    progress = startProgress(target.kind, options, states, driverStartedMs, () => committed, timeline);

    const driven = await runOpenLoop(options.ratePerSecond, options.durationSeconds, async (index) => {
      const playerId = playerIds[pickPlayer(index, playerIds.length)] as string;
      const result = await target.commit(playerId);
      if (result.ok && result.balanceVersion !== undefined) {
        committed += 1;
        committedVersions.set(playerId, Math.max(committedVersions.get(playerId) ?? 0, result.balanceVersion));
      }
      return result.ok;
    });
    const finished = collect(states, 'report', (_state, message) => {
      reports.push(message.report);
      timeline.add(message.buckets);
    });
    post(states, { type: 'finish', committedVersions: Object.fromEntries(committedVersions), timeoutMs: FINISH_TIMEOUT_MS });
    await finished;
    const cpuSeconds = subtractCpuSeconds(readCpuSeconds(target.processes), cpuBefore);

    const { latency, resync, counts, behindAtEnd } = mergeReports(reports);
    const stormSecond = stormAtMs === undefined ? Number.POSITIVE_INFINITY : Math.floor(options.reconnectAtSeconds);
    const beforeStorm = timeline.merged(driverStartedMs, 0, stormSecond);
    return {
      target: target.kind,
      players: options.players,
      connected,
      connectErrors,
      rampSeconds,
      driver: {
        ratePerSecondTarget: options.ratePerSecond,
        sent: driven.sent,
        committed,
        failed: driven.failed + driven.unanswered,
        achievedRatePerSecond: Math.round(driven.achievedRatePerSecond),
        callLatency: driven.latency.summary(),
      },
      delivery: { ...counts, behindAtEnd },
      storm: { atSecond: stormAtMs === undefined ? null : options.reconnectAtSeconds, dropped, dropToSnapshot: resync.summary() },
      commitToReceive: latency.summary(),
      phases: {
        beforeStorm: beforeStorm.summary(),
        fromStorm: stormAtMs === undefined ? null : timeline.merged(driverStartedMs, stormSecond, Number.POSITIVE_INFINITY).summary(),
      },
      distributionBeforeStorm: beforeStorm.percentilesMs(DISTRIBUTION_PERCENTILES),
      negativeLatencySamples: latency.negativeSamples,
      distribution: latency.percentilesMs(DISTRIBUTION_PERCENTILES),
      timeline: timeline.points(driverStartedMs),
      cpuSeconds,
    };
  } finally {
    clearTimeout(stormTimer);
    if (progress !== undefined) {
      clearInterval(progress);
      if (process.stderr.isTTY) process.stderr.write('\n');
    }
    await Promise.all(states.map((state) => state.worker.terminate()));
  }
}

/** Adds up what the workers reported at the end of a run. */
function mergeReports(reports: readonly WorkerReport[]): { latency: LatencyRecorder; resync: LatencyRecorder; counts: DeliveryCounts; behindAtEnd: number } {
  const latency = new LatencyRecorder();
  const resync = new LatencyRecorder();
  const counts = emptyCounts();
  let behindAtEnd = 0;
  for (const report of reports) {
    latency.add(LatencyRecorder.decode(report.latency));
    resync.add(LatencyRecorder.decode(report.resyncLatency));
    addCounts(counts, report.counts);
    behindAtEnd += report.behindAtEnd;
  }
  return { latency, resync, counts, behindAtEnd };
}

/** Spreads changes over every player, then repeats, so each player sees about the same number of pushes. */
function pickPlayer(index: number, playerCount: number): number {
  // 7919 is prime, so the stride visits every player unless the count is a multiple of it; consecutive
  // changes land on different workers and replicas.
  return (index * 7919) % playerCount;
}

/** Starts a worker thread on worker.ts (under tsx) or the compiled worker.js. */
function startWorker(setup: WorkerSetup): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData: setup });
  // NOTE: Node 20 runs `--import tsx` in worker threads without its loader hooks taking effect, so the
  // worker registers tsx itself before it imports the TypeScript entry.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: setup });
}

function post(states: readonly WorkerState[], message: ToWorker): void {
  for (const state of states) state.worker.postMessage(message);
}

/** Resolves when every worker sent a message of `type`; rejects when a worker fails first. */
function collect<T extends FromWorker['type']>(
  states: readonly WorkerState[],
  type: T,
  handle: (state: WorkerState, message: Extract<FromWorker, { type: T }>) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let remaining = states.length;
    for (const state of states) {
      const onMessage = (message: FromWorker): void => {
        if (message.type !== type) return;
        state.worker.off('message', onMessage);
        handle(state, message as Extract<FromWorker, { type: T }>);
        remaining -= 1;
        if (remaining === 0) resolve();
      };
      state.worker.on('message', onMessage);
      state.worker.once('error', reject);
      state.worker.once('exit', (code) => {
        if (remaining > 0 && code !== 0) reject(new Error(`load-test worker exited with code ${code} before sending ${type}`));
      });
    }
  });
}

/** Prints one progress line a second on a terminal; in a log, every ten seconds (every second in runs of ten seconds or less). */
function startProgress(
  kind: string,
  options: HarnessOptions,
  states: readonly WorkerState[],
  startedMs: number,
  committed: () => number,
  timeline: Timeline,
): ReturnType<typeof setInterval> {
  const isTerminal = process.stderr.isTTY;
  const logEverySeconds = options.durationSeconds <= 10 ? 1 : 10;
  let received = 0;
  return setInterval(() => {
    for (const state of states) {
      received += state.pushesSinceProgress;
      state.pushesSinceProgress = 0;
    }
    const elapsed = Math.round((Date.now() - startedMs) / 1000);
    if (!isTerminal && elapsed % logEverySeconds !== 0) return;
    const connected = states.reduce((total, state) => total + state.connected, 0);
    const last = timeline.latest();
    const lastSecond = last === undefined ? 'no pushes yet' : `last second p50 ${last.p50Ms} ms, p99 ${last.p99Ms} ms`;
    const line = `${kind} ${elapsed}/${options.durationSeconds} s: ${connected} connected, ${committed()} committed, ${received} pushes received, ${lastSecond}`;
    process.stderr.write(isTerminal ? `\r${line.padEnd(120)}` : `${line}\n`);
  }, 1_000);
}
