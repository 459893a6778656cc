/**
 * Wall-clock timestamps with microsecond resolution. `Date` stops at
 * milliseconds, which would round commit-to-receive latencies to whole
 * milliseconds, so `committedAt` carries six fractional digits
 * (`2026-12-04T20:00:00.123456Z`). Both ends must run on clocks that agree:
 * the same host, or hosts synchronised well below the latencies measured.
 */

/** Microseconds since the Unix epoch, from the process's high-resolution clock. */
export function nowEpochMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function formatIsoMicros(epochMicros: number): string {
  const milliseconds = Math.floor(epochMicros / 1000);
  const microsecondDigits = String(epochMicros - milliseconds * 1000).padStart(3, '0');
  return new Date(milliseconds).toISOString().replace(/Z$/, `${microsecondDigits}Z`);
}

/** Parses an ISO 8601 UTC timestamp with up to six fractional digits into epoch microseconds. */
export function parseIsoMicros(timestamp: string): number {
  const match = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(timestamp);
  if (match === null) return Number.NaN;
  const wholeSecondsMs = Date.parse(`${match[1]}Z`);
  const fraction = (match[2] ?? '').padEnd(6, '0');
  return wholeSecondsMs * 1000 + Number(fraction);
}
