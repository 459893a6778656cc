import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { PushLatencyResult, ThroughputStep } from './scenarios.js';

export interface BenchReport {
  date: string;
  command: string;
  machine: string;
  throughput: ThroughputStep[];
  throughputStepSeconds: number;
  push: PushLatencyResult;
}

export function describeMachine(): string {
  const cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const memoryGiB = (os.totalmem() / 1024 ** 3).toFixed(0);
  return `${os.cpus().length} cores (${cpuModel}), ${memoryGiB} GiB, Node.js ${process.version}, PostgreSQL 15, RabbitMQ 3.10, Redis 7.0`;
}

const verdict = (isMet: boolean): string => (isMet ? 'met' : '**not met**');

/** Renders the benchmark page: conditions first, then each figure beside its target. */
export function renderMarkdown(report: BenchReport): string {
  const { push } = report;
  const bestThroughput = report.throughput.reduce<ThroughputStep | undefined>(
    (best, step) => (step.failed === 0 && step.latency.p99Ms <= 25 && step.achievedRatePerSecond > (best?.achievedRatePerSecond ?? 0) ? step : best),
    undefined,
  );
  const maxMemory = Math.max(...push.gatewayIdleBytesPerConnection);

  return `# Benchmarks

Measured by \`make bench\` (\`scripts/bench.sh\`, code in \`loadtest/src/bench/\`).
Every figure below comes from the run described here; rerun the command to
replace them.

- Date: ${report.date}
- Command: \`${report.command}\`
- Machine: ${report.machine}
- Conditions: everything on this one machine and its cores at once:
  PostgreSQL, RabbitMQ, Redis, the wallet, the push gateway replicas, the load
  generator and the simulated players. \`synchronous_commit\` and fsync are on.
  Latencies come from HDR histograms; commit-to-receive subtracts the wallet's
  \`committedAt\` (taken when COMMIT returned) from the time the player client
  received the push, on the same host clock.

## Summary against the targets

| target | measured | |
| --- | --- | --- |
| p99 commit-to-receive ≤ 10 ms with ${push.players.toLocaleString('en')} players, ${push.ratePerSecondTarget.toLocaleString('en')} changes/s, ${push.gatewayReplicas} replicas | p99 ${push.commitToReceive.p99Ms} ms | ${verdict(push.commitToReceive.p99Ms <= 10)} |
| ≥ 2,000 provider callbacks/s with p99 response ≤ 25 ms | ${bestThroughput === undefined ? 'no step met p99 ≤ 25 ms' : `${bestThroughput.achievedRatePerSecond}/s at p99 ${bestThroughput.latency.p99Ms} ms`} | ${verdict(bestThroughput !== undefined && bestThroughput.achievedRatePerSecond >= 2000)} |
| ≤ 40 KB gateway memory per idle connection | ${(maxMemory / 1024).toFixed(1)} KB (highest replica) | ${verdict(maxMemory <= 40 * 1024)} |
| no push lost | ${push.lost} lost | ${verdict(push.lost === 0)} |

## Commit-to-receive latency

${push.players.toLocaleString('en')} players connected over WebSocket, spread evenly over ${push.gatewayReplicas} gateway replicas sharing Redis;
bet callbacks at a fixed ${push.ratePerSecondTarget}/s for ${push.durationSeconds} s, each one balance change of a random player.

| p50 | p99 | p99.9 | max | pushes | lost | out of order | wallet rate achieved |
| --- | --- | --- | --- | --- | --- | --- | --- |
| ${push.commitToReceive.p50Ms} ms | ${push.commitToReceive.p99Ms} ms | ${push.commitToReceive.p999Ms} ms | ${push.commitToReceive.maxMs} ms | ${push.pushesReceived} | ${push.lost} | ${push.outOfOrder} | ${push.walletAchievedRatePerSecond}/s (${push.walletFailed} failed) |

"Out of order" counts pushes that reached a player after a newer version had;
the two replicas consume one queue, so consecutive events of a player can take
different paths. The player client ignores the older one, so no balance goes
backwards.

Gateway resident memory per idle connection, (RSS after connecting − RSS
before) ÷ connections, per replica: ${push.gatewayIdleBytesPerConnection.map((bytes) => `${(bytes / 1024).toFixed(1)} KB`).join(', ')}.
This includes heap not yet collected, so it is an upper estimate.

## Wallet throughput

Bet callbacks (signed, one database transaction each, events published with
confirms) at fixed arrival rates, ${report.throughputStepSeconds} s per step, 1,000 funded players, two gateway replicas consuming.
Latency is measured from each call's scheduled start, so queueing counts.

| target rate | achieved | failed | p50 | p99 | p99.9 | max |
| --- | --- | --- | --- | --- | --- | --- |
${report.throughput
  .map(
    (step) =>
      `| ${step.ratePerSecondTarget}/s | ${step.achievedRatePerSecond}/s | ${step.failed + step.unanswered} | ${step.latency.p50Ms} ms | ${step.latency.p99Ms} ms | ${step.latency.p999Ms} ms | ${step.latency.maxMs} ms |`,
  )
  .join('\n')}
`;
}
