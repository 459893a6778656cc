import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { keepMarkedSections } from '@croupier/shared';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { infraSettings } from '@croupier/shared/testing';
import { REPOSITORY_ROOT } from '../stack/service-process.js';
import { describeMachine, renderMarkdown, type BenchReport } from './report.js';
import { measurePushLatency, measureWalletThroughput } from './scenarios.js';

const USAGE = `Usage: bench [options]

Measures wallet throughput and commit-to-receive latency on this machine and
rewrites docs/benchmarks.md and docs/benchmark-results.json.

Options:
  --players N            connected players in the latency run (default 10000)
  --rates L              comma-separated balance changes per second, one latency run each (default 200,500,1000)
  --duration-seconds N   length of the latency run (default 30)
  --throughput-rates L   comma-separated callback rates to step through (default 500,1000,1500,2000,2500)
  --step-seconds N       length of each throughput step (default 15)
  --no-write             print the report instead of writing docs/benchmarks.md
  --render-only          rewrite docs/benchmarks.md from docs/benchmark-results.json without measuring
  --help                 show this text`;

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function parseBenchArgs() {
  return parseArgs({
    options: {
      players: { type: 'string', default: '10000' },
      rates: { type: 'string', default: '200,500,1000' },
      'duration-seconds': { type: 'string', default: '30' },
      'throughput-rates': { type: 'string', default: '500,1000,1500,2000,2500' },
      'step-seconds': { type: 'string', default: '15' },
      'no-write': { type: 'boolean', default: false },
      'render-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
}

function readOptions() {
  let parsed: ReturnType<typeof parseBenchArgs>;
  try {
    parsed = parseBenchArgs();
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const integer = (name: string, raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) {
      console.error(`bench: --${name} must be a positive integer, got ${JSON.stringify(raw)}`);
      process.exit(2);
    }
    return value;
  };
  return {
    players: integer('players', values.players),
    rates: values.rates.split(',').map((rate) => integer('rates', rate.trim())),
    durationSeconds: integer('duration-seconds', values['duration-seconds']),
    throughputRates: values['throughput-rates'].split(',').map((rate) => integer('throughput-rates', rate.trim())),
    stepSeconds: integer('step-seconds', values['step-seconds']),
    shouldWrite: !values['no-write'],
    isRenderOnly: values['render-only'],
  };
}

const RESULTS_FILE = path.join(REPOSITORY_ROOT, 'docs', 'benchmark-results.json');

async function main(): Promise<void> {
  const options = readOptions();
  if (options.isRenderOnly) {
    const report = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as BenchReport;
    writeBenchmarksFile(renderMarkdown(report));
    log(`rewrote docs/benchmarks.md from ${RESULTS_FILE}`);
    return;
  }

  const settings = { infra: infraSettings(), logDirectory: path.join(REPOSITORY_ROOT, '.bench', 'logs'), log };

  const throughput = await measureWalletThroughput(settings, options.throughputRates, options.stepSeconds);
  const push = await measurePushLatency(settings, {
    players: options.players,
    gatewayReplicas: 2,
    ratesPerSecond: options.rates,
    durationSeconds: options.durationSeconds,
  });

  const report: BenchReport = {
    date: new Date().toISOString().slice(0, 10),
    command: `make bench (${process.argv.slice(2).join(' ') || 'default options'})`,
    machine: await describeMachine(settings.infra),
    throughput,
    throughputStepSeconds: options.stepSeconds,
    push,
  };
  const markdown = renderMarkdown(report);
  if (!options.shouldWrite) {
    console.log(markdown);
    return;
  }
  mkdirSync(path.join(REPOSITORY_ROOT, '.bench'), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  writeBenchmarksFile(markdown);
  log('wrote docs/benchmarks.md and docs/benchmark-results.json');
}

/** Rewrites docs/benchmarks.md and keeps the sections other benchmarks own, such as the operator's. */
function writeBenchmarksFile(markdown: string): void {
  const file = path.join(REPOSITORY_ROOT, 'docs', 'benchmarks.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, keepMarkedSections(existing, markdown));
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exit(1);
});
