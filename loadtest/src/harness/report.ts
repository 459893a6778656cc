import type { MachineDescription } from '../bench/report.js';
import type { HarnessOptions } from './options.js';
import type { TargetRun } from './run.js';
import { renderLineChart, type ChartSeries } from './svg-chart.js';

export interface HarnessReport {
  date: string;
  command: string;
  profile: string;
  machine: MachineDescription;
  parameters: Omit<HarnessOptions, 'targets' | 'outputDirectory' | 'shouldUpdateDocs' | 'profile' | 'isRenderOnly' | 'isCheckOnly'>;
  runs: TargetRun[];
}

export const RESULTS_FILE = 'loadtest-results.json';
export const DISTRIBUTION_SVG = 'loadtest-latency-distribution.svg';
export const TIMELINE_SVG = 'loadtest-latency-over-time.svg';
/** Target p99 commit-to-receive of the platform, reported beside the measurement. */
export const P99_TARGET_MS = 10;

const COLORS: Record<TargetRun['target'], string> = { platform: '#1f5fbf', bare: '#d9730d' };
const LABELS: Record<TargetRun['target'], string> = { platform: 'platform', bare: 'bare socket.io' };

/** Maps a percentile to the x axis of an HDR percentile plot: 90 → 1, 99 → 2, 99.9 → 3; 100 sits one step past the last. */
function percentileX(percentile: number, lastX: number): number {
  return percentile >= 100 ? lastX + 1 : -Math.log10(1 - percentile / 100);
}

function subtitle(report: HarnessReport): string {
  const p = report.parameters;
  return `${p.players} players, ${p.ratePerSecond} changes/s for ${p.durationSeconds} s, ${p.gatewayReplicas} replicas, ${Math.round(p.reconnectShare * 100)}% reconnect at ${p.reconnectAtSeconds} s; ${report.date}`;
}

export function renderDistributionSvg(report: HarnessReport): string {
  const finite = report.runs.flatMap((run) => run.distribution.filter((point) => point.percentile < 100));
  const lastX = Math.ceil(Math.max(...finite.map((point) => percentileX(point.percentile, 0)), 1));
  const labels = ['0', '90', '99', '99.9', '99.99', '99.999'];
  const xTicks = Array.from({ length: lastX + 1 }, (_, x) => ({ value: x, label: labels[x] ?? `${x}` }));
  xTicks.push({ value: lastX + 1, label: 'max' });
  const series: ChartSeries[] = report.runs.flatMap((run) => [
    {
      name: `${LABELS[run.target]}, whole run`,
      color: COLORS[run.target],
      points: run.distribution.map((point): [number, number] => [percentileX(point.percentile, lastX), point.ms]),
    },
    {
      name: `${LABELS[run.target]}, before storm`,
      color: COLORS[run.target],
      dash: '6 4',
      points: run.distributionBeforeStorm.map((point): [number, number] => [percentileX(point.percentile, lastX), point.ms]),
    },
  ]);
  return renderLineChart({
    title: 'Commit-to-receive latency by percentile',
    subtitle: subtitle(report),
    xLabel: 'percentile',
    yLabel: 'milliseconds (log scale)',
    yScale: 'log',
    series,
    xTicks,
  });
}

export function renderTimelineSvg(report: HarnessReport): string {
  const series: ChartSeries[] = report.runs.flatMap((run) => [
    { name: `${LABELS[run.target]} p50`, color: COLORS[run.target], dash: '6 4', points: run.timeline.map((point) => [point.second, point.p50Ms]) },
    { name: `${LABELS[run.target]} p99`, color: COLORS[run.target], points: run.timeline.map((point) => [point.second, point.p99Ms]) },
  ]);
  const stormAt = report.runs.find((run) => run.storm.atSecond !== null)?.storm.atSecond;
  return renderLineChart({
    title: 'Commit-to-receive latency per second of the run',
    subtitle: subtitle(report),
    xLabel: 'seconds since the driver started',
    yLabel: 'milliseconds (log scale)',
    yScale: 'log',
    series,
    markers: stormAt === undefined || stormAt === null ? [] : [{ x: stormAt, label: 'reconnect storm' }],
  });
}

const ms = (value: number): string => `${value} ms`;

function runRow(run: TargetRun): string {
  const latency = run.commitToReceive;
  const delivery = run.delivery;
  return `| ${LABELS[run.target]} | ${run.connected}/${run.players} | ${run.driver.achievedRatePerSecond}/s | ${run.driver.failed} | ${delivery.pushes} | ${ms(latency.p50Ms)} | ${ms(latency.p99Ms)} | ${ms(latency.p999Ms)} | ${ms(latency.maxMs)} | ${delivery.lost} | ${delivery.outOfOrder} | ${delivery.duplicates} |`;
}

function phaseRow(run: TargetRun): string {
  const before = run.phases.beforeStorm;
  const from = run.phases.fromStorm;
  const fromCells = from === null ? '– | – | – | –' : `${ms(from.p50Ms)} | ${ms(from.p99Ms)} | ${ms(from.p999Ms)} | ${ms(from.maxMs)}`;
  return `| ${LABELS[run.target]} | ${ms(before.p50Ms)} | ${ms(before.p99Ms)} | ${ms(before.p999Ms)} | ${ms(before.maxMs)} | ${fromCells} |`;
}

function stormRow(run: TargetRun): string {
  const delivery = run.delivery;
  return `| ${LABELS[run.target]} | ${run.storm.dropped} | ${delivery.freshResyncs} | ${delivery.staleResyncs} | ${delivery.missingResyncs} | ${ms(run.storm.dropToSnapshot.p50Ms)} | ${ms(run.storm.dropToSnapshot.p99Ms)} | ${ms(run.storm.dropToSnapshot.maxMs)} |`;
}

function cpuRow(run: TargetRun, components: readonly string[]): string {
  const perChange = components.map((component) => (((run.cpuSeconds[component] ?? 0) * 1000) / Math.max(1, run.driver.committed)).toFixed(2));
  return `| ${LABELS[run.target]} | ${perChange.join(' | ')} |`;
}

function comparison(report: HarnessReport): string {
  const platform = report.runs.find((run) => run.target === 'platform');
  const bare = report.runs.find((run) => run.target === 'bare');
  if (platform === undefined || bare === undefined) return 'Only one target ran, so there is no comparison.';
  const delta = (left: number, right: number): string => `${(left - right).toFixed(3)} ms`;
  const platformSteady = platform.phases.beforeStorm;
  const bareSteady = bare.phases.beforeStorm;
  return `Before the storm, the platform adds ${delta(platformSteady.p50Ms, bareSteady.p50Ms)} at p50 and ${delta(
    platformSteady.p99Ms,
    bareSteady.p99Ms,
  )} at p99 over the transport alone: the wallet's outbox relay, RabbitMQ with publisher confirms, the gateway's consumer and deduplication. Both runs share the same Redis adapter hop between replicas.`;
}

/** Renders the `loadtest` section of docs/benchmarks.md. */
export function renderSection(report: HarnessReport): string {
  const p = report.parameters;
  const components = [...new Set(report.runs.flatMap((run) => Object.keys(run.cpuSeconds)))].sort();
  const platform = report.runs.find((run) => run.target === 'platform');
  const steadyP99 = platform?.phases.beforeStorm.p99Ms;
  const verdict =
    platform === undefined || steadyP99 === undefined
      ? ''
      : `\nTarget p99 ≤ ${P99_TARGET_MS} ms with zero lost, in the steady state before the storm: p99 ${ms(steadyP99)}, ${platform.delivery.lost} lost (${
          steadyP99 <= P99_TARGET_MS && platform.delivery.lost === 0 ? 'met' : '**not met**'
        }).\n`;
  return `## Load test: players, wallet callbacks and a reconnect storm

Measured by \`make bench-loadtest\` (\`scripts/bench-loadtest.sh\`, code in
\`loadtest/src/harness/\`); the k6 form of the same scenario for clusters is in
\`loadtest/k6/\`.

- Date: ${report.date}
- Command: \`${report.command}\` (${report.profile} profile)
- Machine: ${report.machine.cores} cores (${report.machine.cpuModel}), ${report.machine.memoryGiB} GiB, Node.js ${report.machine.nodeVersion}, ${Object.entries(
    report.machine.serverVersions,
  )
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')}
- Parameters: ${p.players} players on ${p.workers} worker threads, ramped up at ${p.connectRatePerSecond} connections/s over ${p.gatewayReplicas} replicas;
  ${p.ratePerSecond} balance changes/s for ${p.durationSeconds} s (open model); at ${p.reconnectAtSeconds} s,
  ${Math.round(p.reconnectShare * 100)}% of the players drop and reconnect at once.
- Conditions: the servers, the replicas and the load generator share this machine's cores. The
  platform run sends signed bet callbacks to the wallet; the bare run posts to a socket.io server
  that bumps a version in Redis and emits at once (\`loadtest/src/harness/bare-server.ts\`).

| target | connected | changes/s reached | failed | pushes | p50 | p99 | p99.9 | max | lost | out of order | duplicates |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${report.runs.map(runRow).join('\n')}
${verdict}
${comparison(report)}

Split at the storm (per-second histograms merged by when the push arrived):

| target | before: p50 | p99 | p99.9 | max | storm on: p50 | p99 | p99.9 | max |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${report.runs.map(phaseRow).join('\n')}

Reconnect storm: every dropped player must get a snapshot at least as new as
the newest version it had seen.

| target | dropped | fresh snapshot | stale snapshot | no snapshot | drop to snapshot p50 | p99 | max |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${report.runs.map(stormRow).join('\n')}

CPU milliseconds per balance change, by component:

| target | ${components.join(' | ')} |
| --- | ${components.map(() => '---:').join(' | ')} |
${report.runs.map((run) => cpuRow(run, components)).join('\n')}

![Commit-to-receive latency by percentile](${DISTRIBUTION_SVG})

![Commit-to-receive latency per second](${TIMELINE_SVG})

Raw results: \`docs/loadtest-results.json\`.
`;
}
