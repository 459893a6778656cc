import { LatencyRecorder } from '../latency.js';
import type { SecondBucket } from './protocol.js';

/** Latency of the pushes received in one second of the run. */
export interface TimelinePoint {
  /** Seconds since the driver started. */
  second: number;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Per-second latency histograms from every worker, merged by wall-clock second. */
export class Timeline {
  private readonly seconds = new Map<number, LatencyRecorder>();

  add(buckets: readonly SecondBucket[]): void {
    for (const bucket of buckets) {
      const recorder = this.seconds.get(bucket.second);
      if (recorder === undefined) this.seconds.set(bucket.second, LatencyRecorder.decode(bucket.latency));
      else recorder.add(LatencyRecorder.decode(bucket.latency));
    }
  }

  /** Returns the newest second any worker has reported, for the progress line. */
  latest(): TimelinePoint | undefined {
    const newest = Math.max(...this.seconds.keys());
    const recorder = this.seconds.get(newest);
    return recorder === undefined ? undefined : toPoint(0, recorder);
  }

  /** Merges the seconds in [fromSecond, toSecond) after the driver's start into one recorder. */
  merged(startedMs: number, fromSecond: number, toSecond: number): LatencyRecorder {
    const firstSecond = Math.floor(startedMs / 1000);
    const merged = new LatencyRecorder();
    for (const [second, recorder] of this.seconds) {
      const relative = second - firstSecond;
      if (relative >= fromSecond && relative < toSecond) merged.add(recorder);
    }
    return merged;
  }

  /** Returns every second from the driver's start on, in order. Earlier seconds (stray pushes of the ramp) are left out. */
  points(startedMs: number): TimelinePoint[] {
    const firstSecond = Math.floor(startedMs / 1000);
    return [...this.seconds.entries()]
      .filter(([second]) => second >= firstSecond)
      .sort(([left], [right]) => left - right)
      .map(([second, recorder]) => toPoint(second - firstSecond, recorder));
  }
}

function toPoint(second: number, recorder: LatencyRecorder): TimelinePoint {
  const summary = recorder.summary();
  return { second, count: summary.count, p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, maxMs: summary.maxMs };
}
