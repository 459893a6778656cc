import * as hdr from 'hdr-histogram-js';

/** Percentiles of one latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/**
 * An HDR histogram of latencies recorded in microseconds, so sub-millisecond
 * values keep their resolution, reported in milliseconds.
 */
export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  private negativeCount = 0;

  /** Records one latency; negative values (clock skew) count separately and are stored as 0. */
  recordMicros(latencyMicros: number): void {
    if (latencyMicros < 0) {
      this.negativeCount += 1;
      this.histogram.recordValue(0);
      return;
    }
    this.histogram.recordValue(Math.min(Math.round(latencyMicros), 120_000_000));
  }

  get negativeSamples(): number {
    return this.negativeCount;
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  add(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
    this.negativeCount += other.negativeCount;
  }

  summary(): LatencySummary {
    const toMs = (micros: number): number => Math.round(micros) / 1000;
    return {
      count: this.histogram.totalCount,
      p50Ms: toMs(this.histogram.getValueAtPercentile(50)),
      p99Ms: toMs(this.histogram.getValueAtPercentile(99)),
      p999Ms: toMs(this.histogram.getValueAtPercentile(99.9)),
      maxMs: toMs(this.histogram.maxValue),
    };
  }
}

export function formatSummary(summary: LatencySummary): string {
  return `p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms, p99.9 ${summary.p999Ms.toFixed(2)} ms, max ${summary.maxMs.toFixed(2)} ms (n=${summary.count})`;
}
