/**
 * Worker thread of the load-test harness: keeps a slice of the players, each
 * on its own socket.io connection, and measures every push they receive.
 * The main thread drives the load; see run.ts for the message flow.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import {
  nowEpochMicros,
  parseIsoMicros,
  PLAYER_NAMESPACE,
  type PlayerClientToServerEvents,
  type PlayerServerToClientEvents,
} from '@croupier/shared/contracts';
import { LatencyRecorder } from '../latency.js';
import { addCounts, emptyCounts, PlayerDelivery } from './delivery.js';
import type { FromWorker, SecondBucket, ToWorker, WorkerPlayer, WorkerSetup } from './protocol.js';

type PlayerSocket = Socket<PlayerServerToClientEvents, PlayerClientToServerEvents>;

interface ConnectedPlayer {
  player: WorkerPlayer;
  socket: PlayerSocket;
  delivery: PlayerDelivery;
  /** When the storm dropped this player, in epoch microseconds; cleared by the next snapshot. */
  droppedAtMicros: number | undefined;
}

const TICK_MS = 1_000;

if (parentPort === null) throw new Error('worker.ts runs only as a worker thread of the load-test harness');
const port = parentPort;
const setup = workerData as WorkerSetup;

const players: ConnectedPlayer[] = [];
const latency = new LatencyRecorder();
const resyncLatency = new LatencyRecorder();
/** Latency per wall-clock second, flushed to the main thread once the second is over. */
const openSeconds = new Map<number, LatencyRecorder>();
const connectErrors: Record<string, number> = {};
let pushesSinceTick = 0;

function send(message: FromWorker): void {
  port.postMessage(message);
}

function recordLatency(receivedMicros: number, committedAt: string): void {
  const latencyMicros = receivedMicros - parseIsoMicros(committedAt);
  latency.recordMicros(latencyMicros);
  const second = Math.floor(receivedMicros / 1_000_000);
  let bucket = openSeconds.get(second);
  if (bucket === undefined) {
    bucket = new LatencyRecorder();
    openSeconds.set(second, bucket);
  }
  bucket.recordMicros(latencyMicros);
}

/** Hands over the seconds that are over (all of them when `everything`). */
function takeBuckets(everything: boolean): SecondBucket[] {
  const current = Math.floor(Date.now() / 1000);
  const buckets: SecondBucket[] = [];
  for (const [second, recorder] of openSeconds) {
    if (!everything && second >= current) continue;
    buckets.push({ second, latency: recorder.encode() });
    openSeconds.delete(second);
  }
  return buckets;
}

function countConnectError(code: string): void {
  connectErrors[code] = (connectErrors[code] ?? 0) + 1;
}

/** Opens one player's connection; resolves on its first snapshot or its first connect error. */
function connectPlayer(player: WorkerPlayer): Promise<ConnectedPlayer | undefined> {
  const socket: PlayerSocket = io(`${player.url}${PLAYER_NAMESPACE}`, {
    transports: ['websocket'],
    // One WebSocket per player, as real players have; the default would share one per URL.
    forceNew: true,
    auth: { token: player.token },
    // A drop the storm did not cause (a draining replica, a slow consumer notice) reconnects on its own.
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5_000,
    timeout: setup.connectTimeoutMs,
  });
  const connected: ConnectedPlayer = { player, socket, delivery: new PlayerDelivery(), droppedAtMicros: undefined };
  return new Promise((resolve) => {
    let settled = false;
    socket.on('balance:snapshot', (snapshot) => {
      const isFirst = connected.delivery.recordSnapshot(snapshot.balanceVersion);
      if (connected.droppedAtMicros !== undefined) {
        resyncLatency.recordMicros(nowEpochMicros() - connected.droppedAtMicros);
        connected.droppedAtMicros = undefined;
      }
      if (isFirst && !settled) {
        settled = true;
        resolve(connected);
      }
    });
    socket.on('balance:changed', (update) => {
      const receivedMicros = nowEpochMicros();
      pushesSinceTick += 1;
      if (connected.delivery.recordPush(update.balanceVersion)) recordLatency(receivedMicros, update.committedAt);
    });
    socket.on('disconnect', (reason) => {
      // The storm marks its own drops before it disconnects; any other reason is the server's or the network's.
      if (reason !== 'io client disconnect') connected.delivery.recordDrop();
    });
    socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
      if (settled) return;
      settled = true;
      countConnectError(error.data?.code ?? error.message);
      socket.close();
      resolve(undefined);
    });
  });
}

async function connectAll(): Promise<void> {
  const chunkSize = Math.max(1, Math.round(setup.connectRatePerSecond / 10));
  const pending: Array<Promise<ConnectedPlayer | undefined>> = [];
  for (let start = 0; start < setup.players.length; start += chunkSize) {
    for (const player of setup.players.slice(start, start + chunkSize)) pending.push(connectPlayer(player));
    if (start + chunkSize < setup.players.length) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), setup.connectTimeoutMs);
  });
  const settled = await Promise.race([Promise.all(pending), timeout]);
  clearTimeout(timer);
  if (settled === 'timeout') {
    countConnectError('NO_SNAPSHOT_BEFORE_TIMEOUT');
    // Players still connecting keep trying; only those with a snapshot count from here on.
    for (const candidate of pending) void candidate.then((player) => player !== undefined && players.push(player));
  } else {
    for (const player of settled) if (player !== undefined) players.push(player);
  }
  send({ type: 'connected', workerId: setup.workerId, connected: players.length, connectErrors });
}

/** Drops every n-th player and reconnects it at once, so `share` of this worker's players resync together. */
function startStorm(share: number): void {
  const stride = share > 0 ? 1 / share : Number.POSITIVE_INFINITY;
  let dropped = 0;
  for (let index = 0; index < players.length; index += 1) {
    if (Math.floor(index / stride) === Math.floor((index + 1) / stride)) continue;
    const target = players[index] as ConnectedPlayer;
    target.delivery.recordDrop();
    target.droppedAtMicros = nowEpochMicros();
    target.socket.disconnect();
    target.socket.connect();
    dropped += 1;
  }
  send({ type: 'reconnect-started', workerId: setup.workerId, dropped });
}

async function finish(committedVersions: Record<string, number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const isBehind = (target: ConnectedPlayer): boolean => target.delivery.highestVersion < (committedVersions[target.player.playerId] ?? 0);
  while (Date.now() < deadline && players.some(isBehind)) await new Promise((resolve) => setTimeout(resolve, 50));

  const counts = emptyCounts();
  for (const target of players) {
    const committed = committedVersions[target.player.playerId] ?? target.delivery.baselineVersion ?? 0;
    addCounts(counts, target.delivery.finish(committed));
  }
  const behindAtEnd = players.filter(isBehind).length;
  for (const target of players) target.socket.close();
  send({
    type: 'report',
    workerId: setup.workerId,
    report: { counts, latency: latency.encode(), resyncLatency: resyncLatency.encode(), behindAtEnd },
    buckets: takeBuckets(true),
  });
  clearInterval(ticker);
  port.close();
}

const ticker = setInterval(() => {
  send({ type: 'tick', workerId: setup.workerId, buckets: takeBuckets(false), pushes: pushesSinceTick, connected: players.length });
  pushesSinceTick = 0;
}, TICK_MS);

port.on('message', (message: ToWorker) => {
  if (message.type === 'reconnect') startStorm(message.share);
  else void finish(message.committedVersions, message.timeoutMs);
});

void connectAll();
