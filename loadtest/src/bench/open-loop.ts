import { nowEpochMicros } from '@croupier/shared/contracts';
import { LatencyRecorder } from '../latency.js';

export interface OpenLoopResult {
  ratePerSecondTarget: number;
  durationSeconds: number;
  sent: number;
  completed: number;
  /** Calls that `call` reported as unsuccessful, or that threw. */
  failed: number;
  /** Calls still unanswered when the run ended plus its grace period. */
  unanswered: number;
  achievedRatePerSecond: number;
  /** From each call's scheduled start, so time spent queued behind a slow server counts. */
  latency: LatencyRecorder;
}

/**
 * Issues calls at a fixed arrival rate for a fixed time, whatever the server's
 * speed (an open model), and records each call's latency from the moment it
 * was due. A closed loop would slow down with the server and hide its queueing.
 */
export async function runOpenLoop(
  ratePerSecond: number,
  durationSeconds: number,
  call: (index: number) => Promise<boolean>,
  gracePeriodMs = 10_000,
): Promise<OpenLoopResult> {
  const latency = new LatencyRecorder();
  const startedMicros = nowEpochMicros();
  const total = Math.round(ratePerSecond * durationSeconds);
  const intervalMicros = 1_000_000 / ratePerSecond;
  let sent = 0;
  let completed = 0;
  let failed = 0;
  let lastCompletedMicros = startedMicros;
  const inFlight = new Set<Promise<void>>();

  while (sent < total) {
    const dueCount = Math.min(total, Math.floor((nowEpochMicros() - startedMicros) / intervalMicros) + 1);
    while (sent < dueCount) {
      const index = sent;
      const dueMicros = startedMicros + index * intervalMicros;
      sent += 1;
      const task = call(index)
        .then((succeeded) => {
          lastCompletedMicros = nowEpochMicros();
          latency.recordMicros(lastCompletedMicros - dueMicros);
          if (succeeded) completed += 1;
          else failed += 1;
        })
        .catch(() => {
          failed += 1;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }

  await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, gracePeriodMs))]);
  return {
    ratePerSecondTarget: ratePerSecond,
    durationSeconds,
    sent,
    completed,
    failed,
    unanswered: inFlight.size,
    achievedRatePerSecond: completed / Math.max((lastCompletedMicros - startedMicros) / 1_000_000, durationSeconds),
    latency,
  };
}
