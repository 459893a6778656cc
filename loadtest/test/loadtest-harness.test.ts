import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PlayerDelivery } from '../src/harness/delivery.js';
import { parseHarnessOptions, type HarnessOptions } from '../src/harness/options.js';
import { DISTRIBUTION_SVG, RESULTS_FILE, TIMELINE_SVG, type HarnessReport } from '../src/harness/report.js';
import { LatencyRecorder } from '../src/latency.js';
import { REPOSITORY_ROOT } from '../src/stack/service-process.js';

const HARNESS = path.join(REPOSITORY_ROOT, 'loadtest', 'src', 'harness', 'main.ts');

function runHarness(args: readonly string[], timeoutMs = 240_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', HARNESS, ...args], {
    cwd: REPOSITORY_ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('PlayerDelivery accounting', () => {
  it('counts a gap as lost', () => {
    const delivery = new PlayerDelivery();
    delivery.recordSnapshot(10);
    for (const version of [11, 12, 14]) delivery.recordPush(version);
    assert.equal(delivery.finish(14).lost, 1);
  });

  it('counts missing tail versions as lost', () => {
    const delivery = new PlayerDelivery();
    delivery.recordSnapshot(0);
    delivery.recordPush(1);
    assert.equal(delivery.finish(3).lost, 2);
  });

  it('resync snapshot covers only the gap', () => {
    const delivery = new PlayerDelivery();
    delivery.recordSnapshot(0);
    delivery.recordPush(2); // version 1 never arrived while connected
    delivery.recordDrop();
    delivery.recordSnapshot(5); // covers 3, 4 and 5
    delivery.recordPush(6);
    const counts = delivery.finish(6);
    assert.equal(counts.lost, 1);
    assert.equal(counts.freshResyncs, 1);
  });

  it('flags stale and missing resyncs', () => {
    const stale = new PlayerDelivery();
    stale.recordSnapshot(0);
    stale.recordPush(1);
    stale.recordPush(2);
    stale.recordDrop();
    stale.recordSnapshot(1);
    assert.equal(stale.finish(2).staleResyncs, 1);

    const missing = new PlayerDelivery();
    missing.recordSnapshot(0);
    missing.recordDrop();
    assert.equal(missing.finish(0).missingResyncs, 1);
  });

  it('separates duplicates from out-of-order pushes', () => {
    const delivery = new PlayerDelivery();
    delivery.recordSnapshot(0);
    assert.equal(delivery.recordPush(2), true);
    assert.equal(delivery.recordPush(1), true);
    assert.equal(delivery.recordPush(2), false);
    const counts = delivery.finish(2);
    assert.deepEqual([counts.pushes, counts.outOfOrder, counts.duplicates, counts.lost], [3, 1, 1, 0]);
  });
});

describe('LatencyRecorder transfer between threads', () => {
  it('survives encode and decode', () => {
    const recorder = new LatencyRecorder();
    for (let micros = 1; micros <= 10_000; micros += 1) recorder.recordMicros(micros);
    recorder.recordMicros(-5);
    const copy = LatencyRecorder.decode(structuredClone(recorder.encode()));
    const { maxMs: copiedMax, ...copied } = copy.summary();
    const { maxMs: originalMax, ...original } = recorder.summary();
    assert.deepEqual(copied, original);
    // A decoded histogram records the maximum only to its bucket, so within 3 significant digits.
    assert.ok(Math.abs(copiedMax - originalMax) <= originalMax / 1000, `${copiedMax} vs ${originalMax}`);
    assert.equal(copy.negativeSamples, 1);
    assert.equal(copy.count, 10_001);
  });
});

describe('load-test harness output choice', () => {
  const directories = { docs: '/repo/docs', smoke: '/repo/.bench/loadtest-smoke' };
  const parse = (args: string[]): HarnessOptions => parseHarnessOptions(args, directories) as HarnessOptions;

  it('full run updates the docs', () => {
    const options = parse([]);
    assert.equal(options.outputDirectory, directories.docs);
    assert.equal(options.shouldUpdateDocs, true);
    assert.equal(options.players, 10_000);
  });

  it('smoke run never touches docs', () => {
    const options = parse(['--smoke']);
    assert.equal(options.outputDirectory, directories.smoke);
    assert.equal(options.shouldUpdateDocs, false);
    assert.equal(options.players, 40);
  });

  it('output-dir leaves docs alone', () => {
    const options = parse(['--output-dir', '/tmp/elsewhere']);
    assert.equal(options.outputDirectory, '/tmp/elsewhere');
    assert.equal(options.shouldUpdateDocs, false);
  });
});

describe('load-test harness command line', () => {
  const cases: Array<{ args: string[]; message: string }> = [
    { args: ['--players', 'abc'], message: '--players must be a positive integer, got "abc"' },
    { args: ['--rate', '0'], message: '--rate must be a positive integer, got "0"' },
    { args: ['--targets', 'platform,kafka'], message: '--targets: invalid target "kafka"; use platform, bare or both' },
    { args: ['--reconnect-share', '1.5'], message: '--reconnect-share must be a number from 0 to 1, got "1.5"' },
    { args: ['--duration-seconds', '5', '--reconnect-at-seconds', '9'], message: '--reconnect-at-seconds must be below --duration-seconds (5), got 9' },
    { args: ['--colour'], message: "Unknown option '--colour'" },
    { args: ['--render-only', '--players', '5'], message: '--render-only measures nothing, so it takes no --players' },
    { args: ['--check', '--workers', 'two'], message: '--workers must be a positive integer, got "two"' },
  ];
  for (const { args, message } of cases) {
    it(`rejects ${args.join(' ')} with exit 2`, () => {
      const result = runHarness(args, 30_000);
      assert.equal(result.status, 2, result.stderr);
      assert.ok(result.stderr.includes(message), result.stderr);
      assert.equal(result.stdout, '');
    });
  }
});

describe('load-test harness option check', () => {
  it('exits 0 without running', () => {
    const result = runHarness(['--check', '--smoke'], 30_000);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '');
  });
});

describe('load-test harness smoke run against the platform and a bare socket.io server', () => {
  let outputDirectory: string;
  let benchmarksBefore: string;
  let report: HarnessReport;
  let result: ReturnType<typeof runHarness>;

  before(() => {
    outputDirectory = mkdtempSync(path.join(tmpdir(), 'croupier-loadtest-'));
    benchmarksBefore = readFileSync(path.join(REPOSITORY_ROOT, 'docs', 'benchmarks.md'), 'utf8');
    result = runHarness(['--smoke', '--workers', '2', '--output-dir', outputDirectory]);
    assert.equal(result.status, 0, `harness failed:\n${result.stdout}\n${result.stderr}`);
    report = JSON.parse(readFileSync(path.join(outputDirectory, RESULTS_FILE), 'utf8')) as HarnessReport;
  });

  after(() => {
    rmSync(outputDirectory, { recursive: true, force: true });
  });

  it('connects and commits everything', () => {
    assert.deepEqual(
      report.runs.map((run) => run.target),
      ['platform', 'bare'],
    );
    for (const run of report.runs) {
      assert.equal(run.connected, 40, run.target);
      assert.deepEqual(run.connectErrors, {}, run.target);
      assert.equal(run.driver.sent, 20 * 4, run.target);
      assert.equal(run.driver.committed, run.driver.sent, run.target);
      assert.equal(run.driver.failed, 0, run.target);
    }
  });

  it('delivers and resyncs without loss', () => {
    for (const run of report.runs) {
      const { delivery, storm } = run;
      assert.equal(delivery.lost, 0, run.target);
      assert.equal(delivery.outOfOrder, 0, run.target);
      assert.equal(delivery.behindAtEnd, 0, run.target);
      // 20% of 40 players drop at 2 s.
      assert.equal(storm.atSecond, 2, run.target);
      assert.equal(storm.dropped, 8, run.target);
      assert.equal(delivery.freshResyncs, 8, run.target);
      assert.equal(delivery.staleResyncs + delivery.missingResyncs, 0, run.target);
      assert.equal(storm.dropToSnapshot.count, 8, run.target);
      // A push in flight during a drop is covered by the snapshot, so a few may be missing, never more than the drops.
      assert.ok(delivery.pushes >= run.driver.committed - storm.dropped, `${run.target}: ${delivery.pushes} pushes`);
      assert.equal(run.commitToReceive.count, delivery.pushes - delivery.duplicates, run.target);
    }
  });

  it('merges worker histograms', () => {
    for (const run of report.runs) {
      const values = run.distribution.map((point) => point.ms);
      assert.deepEqual(values, [...values].sort((left, right) => left - right), `${run.target}: percentiles must not decrease`);
      assert.equal(run.distribution.at(-1)?.ms, run.commitToReceive.maxMs, run.target);
      assert.equal(run.distributionBeforeStorm.length, run.distribution.length, run.target);
      assert.ok((run.distributionBeforeStorm.at(-1)?.ms ?? 0) <= run.commitToReceive.maxMs, run.target);
      const timelineCount = run.timeline.reduce((total, point) => total + point.count, 0);
      assert.ok(run.timeline.length >= 3, `${run.target}: ${run.timeline.length} timeline points`);
      // Pushes received in the ramp, before the driver started, are left out of the timeline only.
      assert.ok(timelineCount <= run.commitToReceive.count, run.target);
      assert.ok(timelineCount >= run.commitToReceive.count - 40, run.target);
      assert.equal(run.phases.beforeStorm.count + (run.phases.fromStorm?.count ?? 0), timelineCount, run.target);
      assert.ok(run.phases.beforeStorm.count > 0, run.target);
    }
  });

  it('writes SVG plots, not docs', () => {
    const distribution = readFileSync(path.join(outputDirectory, DISTRIBUTION_SVG), 'utf8');
    const timeline = readFileSync(path.join(outputDirectory, TIMELINE_SVG), 'utf8');
    assert.match(distribution, /^<\?xml[^>]*\?>\s*<svg /);
    assert.equal(distribution.match(/<polyline /g)?.length, 4);
    assert.equal(timeline.match(/<polyline /g)?.length, 4);
    assert.match(timeline, /reconnect storm/);
    assert.equal(readFileSync(path.join(REPOSITORY_ROOT, 'docs', 'benchmarks.md'), 'utf8'), benchmarksBefore);
  });

  it('redraws plots from saved results', () => {
    const plot = path.join(outputDirectory, TIMELINE_SVG);
    rmSync(plot);
    const redrawn = runHarness(['--render-only', '--output-dir', outputDirectory], 30_000);
    assert.equal(redrawn.status, 0, redrawn.stderr);
    assert.equal(readFileSync(plot, 'utf8').match(/<polyline /g)?.length, 4);

    const empty = mkdtempSync(path.join(tmpdir(), 'croupier-loadtest-empty-'));
    const missing = runHarness(['--render-only', '--output-dir', empty], 30_000);
    rmSync(empty, { recursive: true, force: true });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--render-only found no saved result at .*loadtest-results\.json/);
  });

  it('prints a progress line', () => {
    assert.match(result.stderr, /platform \d+\/4 s: \d+ connected, \d+ committed, \d+ pushes received/);
  });
});
