import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { upsertMarkedSection } from '@croupier/shared';
import { infraSettings } from '@croupier/shared/testing';
import { describeMachine } from '../bench/report.js';
import { REPOSITORY_ROOT } from '../stack/service-process.js';
import { OptionsError, parseHarnessOptions, USAGE, type HarnessOptions } from './options.js';
import { DISTRIBUTION_SVG, renderDistributionSvg, renderSection, renderTimelineSvg, RESULTS_FILE, TIMELINE_SVG, type HarnessReport } from './report.js';
import { runScenario, type TargetRun } from './run.js';
import { startTarget } from './targets.js';

function log(message: string): void {
  console.log(`[loadtest ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function readOptions(): HarnessOptions {
  try {
    const options = parseHarnessOptions(process.argv.slice(2), {
      docs: path.join(REPOSITORY_ROOT, 'docs'),
      smoke: path.join(REPOSITORY_ROOT, '.bench', 'loadtest-smoke'),
    });
    if (options === 'help') {
      console.log(USAGE);
      process.exit(0);
    }
    return options;
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    console.error(`loadtest: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

/** Writes the JSON result and the plots to `directory`, and the section of docs/benchmarks.md when asked to. */
function writeOutputs(report: HarnessReport, directory: string, shouldUpdateDocs: boolean): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, RESULTS_FILE), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(directory, DISTRIBUTION_SVG), renderDistributionSvg(report));
  writeFileSync(path.join(directory, TIMELINE_SVG), renderTimelineSvg(report));
  log(`wrote ${RESULTS_FILE}, ${DISTRIBUTION_SVG} and ${TIMELINE_SVG} to ${directory}`);
  if (!shouldUpdateDocs) return;

  const file = path.join(REPOSITORY_ROOT, 'docs', 'benchmarks.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  writeFileSync(file, upsertMarkedSection(existing, 'loadtest', renderSection(report)));
  log('updated the loadtest section of docs/benchmarks.md');
}

async function main(): Promise<void> {
  const options = readOptions();
  if (options.isCheckOnly) return;
  if (options.isRenderOnly) {
    const savedFile = path.join(options.outputDirectory, RESULTS_FILE);
    if (!existsSync(savedFile)) {
      console.error(`loadtest: --render-only found no saved result at ${savedFile}; run a measurement first`);
      process.exit(2);
    }
    writeOutputs(JSON.parse(readFileSync(savedFile, 'utf8')) as HarnessReport, options.outputDirectory, options.shouldUpdateDocs);
    return;
  }
  const infra = infraSettings();
  const logDirectory = path.join(REPOSITORY_ROOT, '.bench', 'logs');
  const runs: TargetRun[] = [];
  for (const kind of options.targets) {
    log(`${kind}: starting ${options.gatewayReplicas} replicas`);
    const target = await startTarget(kind, { infra, gatewayReplicas: options.gatewayReplicas, logDirectory });
    try {
      const run = await runScenario(target, options, log);
      runs.push(run);
      log(
        `${kind}: ${run.delivery.pushes} pushes, p50 ${run.commitToReceive.p50Ms} ms, p99 ${run.commitToReceive.p99Ms} ms, ` +
          `${run.delivery.lost} lost, ${run.delivery.outOfOrder} out of order, ${run.delivery.freshResyncs}/${run.storm.dropped} fresh resyncs`,
      );
    } finally {
      await target.stop();
    }
  }

  const { targets: _targets, outputDirectory: _output, shouldUpdateDocs: _docs, isRenderOnly: _render, isCheckOnly: _check, profile, ...parameters } = options;
  const report: HarnessReport = {
    date: new Date().toISOString().slice(0, 10),
    command: process.argv.length > 2 ? `npm run loadtest -- ${process.argv.slice(2).join(' ')}` : 'make bench-loadtest',
    profile,
    machine: await describeMachine(infra),
    parameters,
    runs,
  };
  writeOutputs(report, options.outputDirectory, options.shouldUpdateDocs);

  const failures = runs.filter((run) => run.delivery.lost > 0 || run.delivery.staleResyncs > 0 || run.delivery.missingResyncs > 0 || run.connected < run.players);
  if (failures.length > 0) {
    console.error(`loadtest: failed for ${failures.map((run) => run.target).join(', ')}: lost updates, missing or stale resyncs, or players not connected; see ${RESULTS_FILE}`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(`loadtest failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
