/**
 * Event-to-intervention benchmark: wallet events go onto a brand's exchange
 * at a fixed arrival rate (an open model), the rules engine evaluates every
 * one against the rules of loadtest/config/bench-rules.yaml, and a consumer
 * bound to `intervention.triggered` records, for each intervention, the time
 * from the triggering event's commit stamp to its arrival. Writes the rules
 * section of docs/benchmarks.md.
 *
 * The events are published by the benchmark, not the wallet: on this machine
 * the wallet peaks below 1,000 callbacks per second (see the balance-path
 * section), and the target concerns the rules engine.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BusConnection, BusPublisher, createLogger, upsertMarkedSection, vhostAmqpUrl } from '@croupier/shared';
import { formatIsoMicros, nowEpochMicros, parseIsoMicros, ROUTING_KEYS, type EventEnvelope } from '@croupier/shared/contracts';
import { infraSettings } from '@croupier/shared/testing';
import { formatSummary, LatencyRecorder, type LatencySummary } from '../latency.js';
import { BrandStack, removeBrandData } from '../stack/brand-stack.js';
import { REPOSITORY_ROOT } from '../stack/service-process.js';
import { listenForInterventions } from '../intervention-listener.js';
import { runOpenLoop } from './open-loop.js';
import { describeMachine, type MachineDescription } from './report.js';

const BRAND = 'bench-rules';
const RULES_FILE = path.join(REPOSITORY_ROOT, 'loadtest/config/bench-rules.yaml');
const RESULTS_FILE = path.join(REPOSITORY_ROOT, 'docs/benchmark-results-rules.json');
/** Every tenth event is a deposit above the large-deposit threshold. */
const LARGE_EVERY = 10;

interface RulesRun {
  published: number;
  achievedRatePerSecond: number;
  interventionsByRule: Record<string, number>;
  expectedLargeDeposits: number;
  latency: LatencySummary;
}

interface RulesReport {
  date: string;
  command: string;
  machine: MachineDescription;
  ratePerSecond: number;
  durationSeconds: number;
  players: number;
  runs: RulesRun[];
}

const log = (message: string): void => console.log(`[bench-rules] ${message}`);

function readOptions(): { rate: number; seconds: number; players: number; runs: number; renderOnly: boolean; write: boolean } {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '30' },
      players: { type: 'string', default: '2000' },
      runs: { type: 'string', default: '3' },
      'render-only': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const positive = (name: string, value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
    return number;
  };
  return {
    rate: positive('rate', values.rate),
    seconds: positive('seconds', values.seconds),
    players: positive('players', values.players),
    runs: positive('runs', values.runs),
    renderOnly: values['render-only'],
    write: !values['no-write'],
  };
}

function depositEvent(index: number, players: number): EventEnvelope<'DepositCompleted'> {
  const nowIso = formatIsoMicros(nowEpochMicros());
  const large = index % LARGE_EVERY === 0;
  return {
    id: randomUUID(),
    type: 'DepositCompleted',
    schemaVersion: 1,
    brand: BRAND,
    playerId: `player-${index % players}`,
    occurredAt: nowIso,
    committedAt: nowIso,
    data: { paymentReference: `bench-${index}`, currency: 'EUR', amountMinor: large ? 600_000 : 1_000 + (index % 40_000), method: 'card' },
  };
}

async function measure(options: ReturnType<typeof readOptions>): Promise<RulesReport> {
  const infra = infraSettings();
  const logDirectory = path.join(REPOSITORY_ROOT, '.bench', 'rules-logs');
  mkdirSync(logDirectory, { recursive: true });
  const logger = createLogger({ service: 'bench-rules', level: 'warn' });
  const stack = await BrandStack.start({ brand: BRAND, infra, gatewayReplicas: 0, logDirectory, rules: { file: RULES_FILE } });
  const connection = new BusConnection({ url: vhostAmqpUrl(infra.amqpUrl, BRAND), connectionName: 'bench-rules', logger });
  const publisher = new BusPublisher(connection, logger);
  let latency = new LatencyRecorder();
  let interventionsByRule: Record<string, number> = {};
  let recording = false;
  listenForInterventions(connection, (event, receivedMicros) => {
    if (!recording) return;
    interventionsByRule[event.data.ruleId] = (interventionsByRule[event.data.ruleId] ?? 0) + 1;
    latency.recordMicros(receivedMicros - parseIsoMicros(event.data.triggeringCommittedAt));
  });
  try {
    await connection.start();
    await connection.waitUntilConnected();
    const publish = async (index: number): Promise<boolean> => {
      const event = depositEvent(index, options.players);
      await publisher.publishBatch([
        { routingKey: ROUTING_KEYS.DepositCompleted, messageId: event.id, type: event.type, body: Buffer.from(JSON.stringify(event)) },
      ]);
      return true;
    };
    log('warming up for 5 s at 200 events/s');
    await runOpenLoop(200, 5, (index) => publish(1_000_000 + index));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const runs: RulesRun[] = [];
    let offset = 0;
    for (let round = 1; round <= options.runs; round += 1) {
      latency = new LatencyRecorder();
      interventionsByRule = {};
      recording = true;
      log(`run ${round} of ${options.runs}: publishing ${options.rate} events/s for ${options.seconds} s to ${options.players} players`);
      const base = offset;
      const run = await runOpenLoop(options.rate, options.seconds, (index) => publish(base + index));
      offset += run.sent + LARGE_EVERY - (run.sent % LARGE_EVERY);
      const expectedLargeDeposits = Math.ceil(run.sent / LARGE_EVERY);
      // Give the engine time to drain whatever queued up.
      const deadline = Date.now() + 30_000;
      while ((interventionsByRule['large-deposit'] ?? 0) < expectedLargeDeposits && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      recording = false;
      const summary = latency.summary();
      log(`published ${run.sent} (${run.achievedRatePerSecond.toFixed(0)}/s); interventions ${JSON.stringify(interventionsByRule)}; ${formatSummary(summary)}`);
      runs.push({ published: run.sent, achievedRatePerSecond: run.achievedRatePerSecond, interventionsByRule, expectedLargeDeposits, latency: summary });
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
    return {
      date: new Date().toISOString().slice(0, 10),
      command: `make bench-rules (${process.argv.slice(2).join(' ') || 'default options'})`,
      machine: await describeMachine(infra),
      ratePerSecond: options.rate,
      durationSeconds: options.seconds,
      players: options.players,
      runs,
    };
  } finally {
    await connection.close();
    await stack.stop();
    await removeBrandData(infra, BRAND);
  }
}

function renderSection(report: RulesReport): string {
  const machine = report.machine;
  const versions = Object.entries(machine.serverVersions).map(([name, version]) => `${name} ${version}`).join(', ');
  const ms = (value: number): string => `${value.toFixed(2)} ms`;
  const rows = report.runs
    .map(
      (run, index) =>
        `| ${index + 1} | ${report.ratePerSecond}/s for ${report.durationSeconds} s | ${run.published} | ${run.achievedRatePerSecond.toFixed(0)}/s | ${run.latency.count} of ${run.expectedLargeDeposits} | ${ms(run.latency.p50Ms)} | ${ms(run.latency.p99Ms)} | ${ms(run.latency.p999Ms)} | ${ms(run.latency.maxMs)} |`,
    )
    .join('\n');
  const worstP99 = Math.max(...report.runs.map((run) => run.latency.p99Ms));
  return `## Rules engine: event to intervention

Measured on ${report.date} with \`${report.command}\` on ${machine.cores} cores
(${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.nodeVersion}, ${versions}, all on
this one machine. The benchmark publishes \`DepositCompleted\` events for
${report.players} players straight onto the brand's exchange at a fixed arrival
rate (open model) and one rules engine process evaluates each against the four
rules of \`loadtest/config/bench-rules.yaml\`. Every tenth deposit is above the
large-deposit threshold, so that rule fires on it. Latency runs from the
event's \`committedAt\` stamp to the arrival of its \`InterventionTriggered\` at a
consumer on the same exchange. It includes the engine's Redis script, the
PostgreSQL transaction that stores the intervention and its outbox row, and the
publish with confirms.

| run | input rate | events published | achieved | interventions received | p50 | p99 | p99.9 | max |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows}

The runs follow each other on the same engine, 3 s apart. Target: p99 at
most 20 ms at 1,000 events per second; the worst run's p99 was
${ms(worstP99)} (${worstP99 <= 20 ? 'met' : 'not met'}).
`;
}

function writeSection(report: RulesReport): void {
  const file = path.join(REPOSITORY_ROOT, 'docs', 'benchmarks.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  writeFileSync(file, upsertMarkedSection(existing, 'rules', renderSection(report)));
}

async function main(): Promise<void> {
  const options = readOptions();
  if (options.renderOnly) {
    writeSection(JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as RulesReport);
    log('rewrote the rules section of docs/benchmarks.md');
    return;
  }
  const report = await measure(options);
  if (!options.write) {
    console.log(renderSection(report));
    return;
  }
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  writeSection(report);
  log('wrote the rules section of docs/benchmarks.md and docs/benchmark-results-rules.json');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
