import type { EncodedLatency } from '../latency.js';
import type { DeliveryCounts } from './delivery.js';

/** One player a worker connects. */
export interface WorkerPlayer {
  playerId: string;
  /** Base URL of the gateway (or bare server) replica this player uses. */
  url: string;
  token: string;
}

export interface WorkerSetup {
  workerId: number;
  players: WorkerPlayer[];
  /** This worker's share of the connection rate while ramping up. */
  connectRatePerSecond: number;
  connectTimeoutMs: number;
}

/** Messages from the main thread to a worker. */
export type ToWorker =
  | { type: 'reconnect'; share: number }
  | { type: 'finish'; committedVersions: Record<string, number>; timeoutMs: number };

/** Latency of the pushes received within one wall-clock second. */
export interface SecondBucket {
  /** Unix time in whole seconds. */
  second: number;
  latency: EncodedLatency;
}

export interface WorkerReport {
  counts: DeliveryCounts;
  /** Commit-to-receive latency of every push that was not a duplicate. */
  latency: EncodedLatency;
  /** Latency from a storm drop to the fresh snapshot. */
  resyncLatency: EncodedLatency;
  /** Players whose committed version had not arrived when the worker gave up waiting. */
  behindAtEnd: number;
}

/** Messages from a worker to the main thread. */
export type FromWorker =
  | { type: 'connected'; workerId: number; connected: number; connectErrors: Record<string, number> }
  | { type: 'tick'; workerId: number; buckets: SecondBucket[]; pushes: number; connected: number }
  | { type: 'reconnect-started'; workerId: number; dropped: number }
  | { type: 'report'; workerId: number; report: WorkerReport; buckets: SecondBucket[] };
