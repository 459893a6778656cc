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
  private readonly histogram = buildHistogram();
  private negativeCount = 0;

  /** Rebuilds a recorder from `encode()`, for example one sent by a worker thread. */
  static decode(encoded: EncodedLatency): LatencyRecorder {
    const recorder = new LatencyRecorder();
    recorder.histogram.add(hdr.decodeFromCompressedBase64(encoded.histogram, 32, false));
    recorder.negativeCount = encoded.negativeSamples;
    return recorder;
  }

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

  /** Encodes the recorder in a compact, structured-clone-safe form for `postMessage` and JSON files. */
  encode(): EncodedLatency {
    return { histogram: hdr.encodeIntoCompressedBase64(this.histogram), negativeSamples: this.negativeCount };
  }

  /** Latency in milliseconds at each percentile (0 to 100), for distribution plots. */
  percentilesMs(percentiles: readonly number[]): Array<{ percentile: number; ms: number }> {
    const maxMicros = this.histogram.maxValue;
    return percentiles.map((percentile) => ({ percentile, ms: Math.round(Math.min(this.histogram.getValueAtPercentile(percentile), maxMicros)) / 1000 }));
  }

  summary(): LatencySummary {
    const toMs = (micros: number): number => Math.round(micros) / 1000;
    // A percentile is the top of its HDR bucket, which can lie above the exact maximum; cap it there.
    const maxMicros = this.histogram.maxValue;
    const at = (percentile: number): number => toMs(Math.min(this.histogram.getValueAtPercentile(percentile), maxMicros));
    return { count: this.histogram.totalCount, p50Ms: at(50), p99Ms: at(99), p999Ms: at(99.9), maxMs: toMs(maxMicros) };
  }
}

/** A LatencyRecorder in transit: the HDR histogram compressed to base64, and the clock-skew count. */
export interface EncodedLatency {
  histogram: string;
  negativeSamples: number;
}

function buildHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function formatSummary(summary: LatencySummary): string {
  return `p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms, p99.9 ${summary.p999Ms.toFixed(2)} ms, max ${summary.maxMs.toFixed(2)} ms (n=${summary.count})`;
}
